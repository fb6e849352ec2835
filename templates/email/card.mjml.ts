/** An item card: image, domain, title link, subtitle, description, commentary. */
export default String.raw`<mj-section padding="0 16px 16px">
  <mj-column background-color="#ffffff" border-radius="12px" border="1px solid #e2e7f0">
    {{#if image}}<mj-image src="{{image}}" alt="{{imageAlt}}"{{#if url}} href="{{url}}"{{/if}} padding="20px 22px 0" border-radius="8px" />{{/if}}
    <mj-text css-class="card" padding="18px 22px 20px">{{#if domain}}<div style="font-size:12px;line-height:1.4;letter-spacing:1px;text-transform:uppercase;color:#6b7280;margin:0 0 6px 0;">{{#if domainUrl}}<a href="{{domainUrl}}" style="color:#6b7280;text-decoration:none;">{{domain}}</a>{{else}}{{domain}}{{/if}}</div>{{/if}}<div style="font-size:18px;line-height:1.45;font-weight:700;margin:0 0 8px 0;">{{#if url}}<a href="{{url}}" style="color:#111827;text-decoration:none;">{{title}}</a>{{else}}{{title}}{{/if}}</div>{{#if subtitle}}<div style="font-size:14px;line-height:1.6;color:#4b5563;margin:0 0 10px 0;">{{subtitle}}</div>{{/if}}{{#if description}}<div style="font-size:14px;line-height:1.6;color:#4b5563;background:#f4f6fb;border-left:3px solid #f5b942;padding:8px 12px;margin:{{#if bodyHtml.length}}0 0 12px 0{{else}}0{{/if}};">{{description}}</div>{{/if}}{{#each bodyHtml}}{{{this}}}{{/each}}</mj-text>
  </mj-column>
</mj-section>`;
