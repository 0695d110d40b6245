import http from 'node:http';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  token?: string;
  /** A value to send as JSON, or a string sent as it is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One HTTP request to the service under test; the body is parsed as JSON when it is JSON. */
export async function request<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }
  let body: string | undefined;
  if (typeof options.body === 'string') {
    body = options.body;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }

  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('application/json') ?? false;
  return {
    status: response.status,
    headers: response.headers,
    body: (isJson && text !== '' ? JSON.parse(text) : text) as T,
  };
}

/** What {@link postExpectingContinue} saw. */
export interface ContinueResponse {
  status: number;
  body: any;
  /** Whether the server answered `100 Continue`, asking for the body, before its final answer. */
  continued: boolean;
}

/**
 * A JSON POST with `Expect: 100-continue`, as curl sends large bodies: the body goes out only if
 * the server asks for it with `100 Continue`. (`fetch` cannot send this header.)
 */
export function postExpectingContinue(
  baseUrl: string,
  path: string,
  options: { token?: string; body: unknown },
): Promise<ContinueResponse> {
  const body = Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string | number> = {
    expect: '100-continue',
    'content-type': 'application/json',
    'content-length': body.length,
  };
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }

  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request(`${baseUrl}${path}`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), continued }),
      );
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('error', reject);
  });
}
