/** Header band: the "view in browser" line, then issue number, date, title and the original's link.
 * Small text on the page background (#eef1f6) is #4b5563: 6.8:1, where #6b7280 fell short of 4.5:1. */
export default String.raw`<mj-section padding="14px 20px 10px">
  <mj-column>
    <mj-text align="right" font-size="12px" line-height="1.4" color="#4b5563"><a href="{{recipient.viewInBrowserUrl}}" style="color:#4b5563;text-decoration:underline;">{{labels.viewInBrowser}}</a></mj-text>
  </mj-column>
</mj-section>
<mj-section background-color="#16213e" border-top="5px solid #f5b942" padding="34px 30px 30px">
  <mj-column>
    {{#if kicker}}<mj-text font-size="13px" line-height="1.4" color="#f5b942" font-weight="700" letter-spacing="1px" padding="0 0 10px">{{kicker}}</mj-text>{{/if}}
    <mj-text css-class="title" font-size="28px" line-height="1.35" color="#ffffff" font-weight="800">{{title}}</mj-text>
    {{#if source}}<mj-text font-size="13px" line-height="1.4" color="#aab4cf" padding="14px 0 0"><a href="{{source.url}}" style="color:#aab4cf;text-decoration:underline;">{{source.label}} ↗</a></mj-text>{{/if}}
  </mj-column>
</mj-section>`;
