/**
 * Errors the API answers with: an HTTP status, a stable code, a message naming the field when
 * there is one. Each API renders them in its own documented shape (see server.ts).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, code = 'NOT_FOUND'): ApiError => new ApiError(404, code, `${what} not found`);
export const badRequest = (field: string, message: string, code = 'INVALID_REQUEST'): ApiError =>
  new ApiError(400, code, `${field}: ${message}`, field);
export const conflict = (message: string, code = 'CONFLICT'): ApiError => new ApiError(409, code, message);
