// Package notify delivers pipeline events (a run failed or timed out, a
// model was promoted or held) as JSON POSTs to webhook URLs: the server's
// (--notify-url) and a project's own. Each event carries a Slack-compatible
// "text" field, so a Slack or Mattermost incoming-webhook URL works as is.
//
// Delivery happens in the background: Notify only queues the event and
// never blocks the caller (a run's completion), and Run, owned by the
// server's run group, posts it and retries failed deliveries with
// exponential backoff.
//
// The package imports net/http as a client, an exception to the rule that
// only the HTTP-serving packages import it: a webhook is an outgoing HTTP
// request. It imports the standard library only.
package notify
