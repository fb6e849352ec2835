/** One section: its heading (absent for the lead), then prose and item cards in source order. */
export default String.raw`{{#if title}}<mj-section padding="30px 20px 12px">
  <mj-column>
    {{#if number}}<mj-text font-size="12px" line-height="1.4" font-weight="700" color="#2454c5" letter-spacing="1.5px" padding="0 0 4px">{{numberLabel}}</mj-text>{{/if}}
    <mj-text font-size="21px" line-height="1.4" font-weight="800" color="#111827" padding="0 0 10px">{{title}}</mj-text>
    <mj-divider border-width="2px" border-color="#16213e" padding="0" width="48px" align="left" />
  </mj-column>
</mj-section>{{else}}<mj-section padding="16px 0 0"><mj-column><mj-spacer height="4px" /></mj-column></mj-section>{{/if}}
{{#each blocks}}{{#if item}}{{#with item}}{{> card}}{{/with}}{{else}}{{#with prose}}{{> prose}}{{/with}}{{/if}}{{/each}}`;
