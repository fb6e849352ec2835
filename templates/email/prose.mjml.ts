/** Free content (lead news, lists, notes) between cards. */
export default String.raw`<mj-section padding="0 16px 16px">
  <mj-column background-color="#ffffff" border-radius="12px" border="1px solid #e2e7f0">
    <mj-text css-class="card" padding="18px 22px 20px">{{{html}}}</mj-text>
  </mj-column>
</mj-section>`;
