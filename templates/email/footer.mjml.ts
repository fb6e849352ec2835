/** Footer: why the reader gets this, view-in-browser and unsubscribe links, sender and postal address.
 * Small text on the page background (#eef1f6) is #4b5563: 6.8:1, where #6b7280 fell short of 4.5:1. */
export default String.raw`<mj-section padding="20px 28px 40px">
  <mj-column>
    <mj-divider border-width="1px" border-color="#d5dbe6" padding="0 0 18px" />
    <mj-text align="center" font-size="12px" line-height="1.7" color="#4b5563">{{labels.whyReceiving}}<br /><a href="{{recipient.viewInBrowserUrl}}" style="color:#4b5563;text-decoration:underline;">{{labels.viewInBrowser}}</a> · <a href="{{recipient.unsubscribeUrl}}" style="color:#4b5563;text-decoration:underline;">{{labels.unsubscribe}}</a><br />{{#if senderName}}<strong>{{senderName}}</strong> · {{/if}}{{postalAddress}}</mj-text>
  </mj-column>
</mj-section>`;
