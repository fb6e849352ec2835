/**
 * One section: its heading (absent for the lead), then prose and item cards in source order, all inside ONE
 * mj-text. Cards are plain email-safe tables rather than one mj-section each: every MJML element costs render
 * time and bytes (one mj-section per card made the seed issue render 3-7x slower), and a single full-width
 * column needs none of MJML's column machinery.
 */
export default String.raw`<mj-section padding="{{#if title}}30px{{else}}16px{{/if}} 16px 0">
  <mj-column>
    <mj-text>{{#if title}}<div style="padding:0 4px 16px 4px;">{{#if number}}<div style="font-size:12px;line-height:1.4;font-weight:700;color:#2454c5;letter-spacing:1.5px;margin:0 0 4px 0;">{{numberLabel}}</div>{{/if}}<div style="font-size:21px;line-height:1.4;font-weight:800;color:#111827;padding:0 0 10px 0;">{{title}}</div><div style="width:48px;border-top:2px solid #16213e;font-size:0;line-height:0;">&nbsp;</div></div>{{/if}}{{#each blocks}}{{#if item}}{{#with item}}{{> card}}{{/with}}{{else}}{{#with prose}}{{> prose}}{{/with}}{{/if}}{{/each}}</mj-text>
  </mj-column>
</mj-section>`;
