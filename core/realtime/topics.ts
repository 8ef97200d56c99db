/** Subscription topics: `meeting#<id>` or `job#<id>` (no AWS client, so any route may import it). */
export const meetingTopic = (meetingId: string) => `meeting#${meetingId}`;
export const jobTopic = (jobId: string) => `job#${jobId}`;
