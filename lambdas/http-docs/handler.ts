import { DOCS_CONTENT_SECURITY_POLICY, renderDocsPage } from '../../core/rest/docs-page';
import { openApiDocument } from '../../core/rest/openapi';
import { httpRoute } from '../shared/http';

const document = openApiDocument();
const documentJson = JSON.stringify(document, null, 2);
const page = renderDocsPage(document);

/** GET /docs (HTML) and GET /docs/openapi.json */
export const handler = httpRoute({ name: 'docs', auth: false }, async ({ routeKey }) =>
  routeKey.endsWith('/openapi.json')
    ? { status: 200, text: documentJson, contentType: 'application/json; charset=utf-8' }
    : {
        status: 200,
        text: page,
        contentType: 'text/html; charset=utf-8',
        headers: { 'content-security-policy': DOCS_CONTENT_SECURITY_POLICY },
      },
);
