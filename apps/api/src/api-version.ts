/** Version of the HTTP contract, in the OpenAPI document and `GET /health`. */
export const API_VERSION = '2.0.0';
