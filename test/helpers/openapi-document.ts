// The parts of an OpenAPI 3.1 document that the tests read. What a test only checks for is optional
// or unknown; what it reaches through is required, so that a document without it fails the test there.

export interface JsonSchemaObject {
  $schema?: string;
  required?: string[];
  properties: Record<string, unknown>;
}

export interface MediaTypeObject {
  schema?: JsonSchemaObject;
}

export interface ResponseObject {
  description: unknown;
  content?: Record<string, MediaTypeObject>;
}

export interface OperationObject {
  parameters?: { name: unknown; in: string; [detail: string]: unknown }[];
  requestBody: { required?: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocumentShape {
  openapi: string;
  info?: { title?: unknown; version?: unknown };
  paths: Record<string, Record<string, OperationObject>>;
}
