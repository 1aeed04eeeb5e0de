// The generated types in use, as an app would: a typed call and a typed subscription payload.
// `tsc --noEmit` on this file proves the generated types compile and fit real screens.
import type {
  ChatListQuery,
  ConversationEventsSubscription,
  SignInWithCodeMutation,
  SignInWithCodeMutationVariables,
} from './generated/operations';

async function call<T, V>(url: string, query: string, variables: V, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: { extensions?: { code?: string } }[] };
  if (!body.data) throw new Error(body.errors?.[0]?.extensions?.code ?? 'no data');
  return body.data;
}

export async function signIn(url: string, phone: string, code: string): Promise<string> {
  const variables: SignInWithCodeMutationVariables = { phone, code, device: { deviceId: 'app-install-1' } };
  const data = await call<SignInWithCodeMutation, SignInWithCodeMutationVariables>(url, 'mutation …', variables);
  return data.signInWithCode.accessToken;
}

export function rowTitle(row: ChatListQuery['conversations']['nodes'][number]): string {
  return row.peer?.displayName ?? row.name ?? '群聊';
}

export function bubble(event: ConversationEventsSubscription['conversationEvents']): string | null {
  return event.message ? `${event.message.sender?.displayName ?? '系统'}: ${event.message.text ?? ''}` : null;
}
