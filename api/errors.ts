/** Errors the API answers with: status, a stable code, a message naming the field when there is one. */
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

export const notFound = (what: string): ApiError => new ApiError(404, 'NOT_FOUND', `${what} not found`);
export const badRequest = (field: string, message: string): ApiError => new ApiError(400, 'INVALID_REQUEST', `${field}: ${message}`, field);
