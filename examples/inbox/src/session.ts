/**
 * The session this page acts with. A real frontend gets one by logging in (Business Login for
 * Instagram: the `igql_session` cookie, or the `accessToken` of `Accept: application/json`);
 * the sandbox hands out one for each demo account at `GET /sandbox`, as GraphiQL's defaults do.
 * This page is the first account's agent: `northwind.shop` in the demo.
 */
export async function demoSession(): Promise<string> {
  const res = await fetch('/sandbox', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /sandbox answered ${res.status}`);
  const { accounts } = (await res.json()) as { accounts: { token: string }[] };
  const token = accounts[0]?.token;
  if (!token) throw new Error('the sandbox has no account');
  return token;
}
