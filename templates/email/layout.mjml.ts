/**
 * The issue email layout (MJML + Handlebars). Handlebars fills it once per issue, loops included, before MJML
 * compiles it. Subscriber data only ever appears as `{{recipient.*}}` (escaping): at render time those values are
 * the `{{unsubscribeUrl}}`-style placeholders that the personalization pass fills per recipient.
 * `{{{ }}}` is reserved for HTML our own Markdown renderer produced (escaped content), see test/core/issue.
 */
export default String.raw`<mjml lang="{{lang}}" dir="auto">
  <mj-head>
    <mj-title>{{subject}}</mj-title>
    <mj-preview>{{preheader}}</mj-preview>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Helvetica, Arial, 'PingFang SC', 'Microsoft YaHei', sans-serif" />
      <mj-text font-size="15px" line-height="1.7" color="#1f2937" padding="0" />
      <mj-section padding="0" />
      <mj-column padding="0" />
    </mj-attributes>
    <mj-style>
      a { color: #2454c5; }
      @media only screen and (max-width: 480px) {
        .title div { font-size: 24px !important; }
      }
    </mj-style>
  </mj-head>
  <mj-body background-color="#eef1f6" width="640px">
    {{> header}}
    {{#if lead.blocks.length}}{{#with lead}}{{> section}}{{/with}}{{/if}}
    {{#each sections}}{{> section}}{{/each}}
    {{> footer}}
  </mj-body>
</mjml>`;
