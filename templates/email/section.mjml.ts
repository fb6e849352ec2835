/**
 * One section: its heading (absent for the lead), then prose and item cards in source order.
 * The heading is a single mj-text (number, title and rule in HTML): every MJML element costs render time and bytes.
 */
export default String.raw`{{#if title}}<mj-section padding="30px 20px 12px">
  <mj-column>
    <mj-text font-size="21px" line-height="1.4" font-weight="800" color="#111827">{{#if number}}<div style="font-size:12px;line-height:1.4;font-weight:700;color:#2454c5;letter-spacing:1.5px;margin:0 0 4px 0;">{{numberLabel}}</div>{{/if}}<div style="padding:0 0 10px 0;">{{title}}</div><div style="width:48px;border-top:2px solid #16213e;font-size:0;line-height:0;">&nbsp;</div></mj-text>
  </mj-column>
</mj-section>{{else}}<mj-section padding="16px 0 0"><mj-column><mj-spacer height="4px" /></mj-column></mj-section>{{/if}}
{{#each blocks}}{{#if item}}{{#with item}}{{> card}}{{/with}}{{else}}{{#with prose}}{{> prose}}{{/with}}{{/if}}{{/each}}`;
