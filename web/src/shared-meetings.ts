/** Meetings shared with this user that they opened, remembered per user in localStorage. */
const key = (userId: string) => `parley.shared.${userId}`;
const MAX_REMEMBERED = 50;

export function rememberedShared(userId: string): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(key(userId)) ?? '[]') as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberShared(userId: string, meetingId: string): void {
  const ids = [meetingId, ...rememberedShared(userId).filter((id) => id !== meetingId)].slice(
    0,
    MAX_REMEMBERED,
  );
  localStorage.setItem(key(userId), JSON.stringify(ids));
}

export function forgetShared(userId: string, meetingId: string): void {
  localStorage.setItem(
    key(userId),
    JSON.stringify(rememberedShared(userId).filter((id) => id !== meetingId)),
  );
}
