// CDK entry (cdk.json: `node --import tsx infra/app.ts`). Settings come from context and newsletter.config.json:
// see infra/settings.ts.
import { App } from 'aws-cdk-lib';
import { buildNewsletterApp } from './newsletter-app.ts';
import { SettingsError } from './settings.ts';

const app = new App();
try {
  buildNewsletterApp(app);
} catch (err) {
  if (err instanceof SettingsError) {
    // One clear message, no stack trace: the operator only needs to fix a -c value or the config file.
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
app.synth();
