//! [`Publisher`]: pipelined JetStream publishes on one NATS connection, acknowledged in order.
//!
//! A JetStream publish is a NATS publish with a reply subject; the stream answers on that subject
//! with a small JSON ack (`{"stream":..,"seq":..}`, `"duplicate":true` when its duplicate window
//! dropped it) or an error object. async-nats's `Context::send_publish` does this with a fresh
//! inbox name, a oneshot channel, a semaphore permit, two timers and a boxed future per message:
//! at relay rates that bookkeeping cost more than the rest of the relay's own work (see
//! docs/BENCHMARKS.md, "NATS relay"). Here one wildcard subscription receives every ack, each
//! publish's reply subject ends in its sequence number, and the outstanding publishes are a queue:
//! nothing is allocated per message beyond the subject names, and one timer watches the oldest
//! publish.
//!
//! The contract the relay relies on is the same as with `send_publish`: [`Publisher::next_acked`]
//! yields the publishes' effects strictly in publish order, each only once the stream has
//! acknowledged that publish; any failure (an error ack, no stream listening, an ack not arriving
//! within the timeout, the subscription ending) is returned once and the publisher must then be
//! dropped with the connection.

use std::collections::VecDeque;
use std::time::Duration;

use async_nats::header::{HeaderMap, NATS_MESSAGE_ID};
use async_nats::{Client, Message, StatusCode, Subscriber};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use tokio::time::Instant;

/// One outstanding publish.
struct Pending<T> {
    /// When it was handed to the connection (its ack is due within the timeout).
    sent: Instant,
    /// Whether its ack arrived (acks may overtake each other across streams).
    acked: bool,
    /// What its acknowledgement changes for the caller.
    effect: T,
}

/// Pipelined publishing with in-order acknowledgement (see the [module docs](self)).
pub(crate) struct Publisher<T> {
    client: Client,
    acks: Subscriber,
    /// `_INBOX.<unique>.`: a publish's reply subject is this plus its sequence number.
    reply_prefix: String,
    /// Sequence number of `pending[0]`.
    front_seq: u64,
    pending: VecDeque<Pending<T>>,
    timeout: Duration,
}

/// What a JetStream ack body may hold (only what the relay checks).
#[derive(Deserialize)]
struct AckBody<'a> {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    error: Option<AckError<'a>>,
}

#[derive(Deserialize)]
struct AckError<'a> {
    #[serde(default)]
    code: u16,
    #[serde(default, borrow)]
    description: Option<std::borrow::Cow<'a, str>>,
}

impl<T> Publisher<T> {
    /// Subscribes to the connection's ack subjects. `timeout`: how long an ack may take.
    pub(crate) async fn open(client: Client, timeout: Duration) -> Result<Self, String> {
        let reply_prefix = format!("{}.", client.new_inbox());
        let acks = client
            .subscribe(format!("{reply_prefix}*"))
            .await
            .map_err(|e| format!("subscribe to acks: {e}"))?;
        Ok(Self {
            client,
            acks,
            reply_prefix,
            front_seq: 0,
            pending: VecDeque::new(),
            timeout,
        })
    }

    /// Publishes awaiting their ack.
    pub(crate) fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Hands one publish to the connection; `effect` comes back from
    /// [`next_acked`](Self::next_acked) once the stream acknowledged it.
    pub(crate) async fn publish(
        &mut self,
        subject: String,
        msg_id: Option<String>,
        payload: Bytes,
        effect: T,
    ) -> Result<(), String> {
        let seq = self.front_seq + self.pending.len() as u64;
        let reply = format!("{}{seq}", self.reply_prefix);
        let mut headers = HeaderMap::new();
        if let Some(id) = msg_id {
            headers.insert(NATS_MESSAGE_ID, id);
        }
        self.client
            .publish_with_reply_and_headers(subject, reply, headers, payload)
            .await
            .map_err(|e| format!("publish failed: {e}"))?;
        self.pending.push_back(Pending {
            sent: Instant::now(),
            acked: false,
            effect,
        });
        Ok(())
    }

    /// The effect of the oldest publish once it is acknowledged, without waiting: `Ok(None)`
    /// when it is not (yet), or nothing is outstanding.
    pub(crate) fn try_acked(&mut self) -> Result<Option<T>, String> {
        loop {
            if let Some(effect) = self.pop_acked() {
                return Ok(Some(effect));
            }
            if self.pending.is_empty() {
                return Ok(None);
            }
            match self.acks.next().now_or_never() {
                Some(Some(message)) => self.record(&message)?,
                Some(None) => return Err("the ack subscription ended".into()),
                None => return Ok(None),
            }
        }
    }

    /// Waits for the oldest publish's acknowledgement and returns its effect; pending forever
    /// while nothing is outstanding. Cancel-safe: an ack read before a cancellation is kept.
    pub(crate) async fn next_acked(&mut self) -> Result<T, String> {
        loop {
            if let Some(effect) = self.try_acked()? {
                return Ok(effect);
            }
            let Some(front) = self.pending.front() else {
                return std::future::pending().await;
            };
            let deadline = front.sent + self.timeout;
            tokio::select! {
                message = self.acks.next() => match message {
                    Some(message) => self.record(&message)?,
                    None => return Err("the ack subscription ended".into()),
                },
                () = tokio::time::sleep_until(deadline) => {
                    return Err(format!(
                        "publish not acknowledged within {:?}",
                        self.timeout
                    ));
                }
            }
        }
    }

    fn pop_acked(&mut self) -> Option<T> {
        if self.pending.front().is_some_and(|p| p.acked) {
            self.front_seq += 1;
            return self.pending.pop_front().map(|p| p.effect);
        }
        None
    }

    /// Marks the publish an ack message answers; an error ack is the error.
    fn record(&mut self, message: &Message) -> Result<(), String> {
        let Some(seq) = message
            .subject
            .as_str()
            .strip_prefix(self.reply_prefix.as_str())
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return Ok(());
        };
        let Some(index) = seq
            .checked_sub(self.front_seq)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < self.pending.len())
        else {
            // An answer to a publish already settled: ignore.
            return Ok(());
        };
        check_ack(message)?;
        self.pending[index].acked = true;
        Ok(())
    }
}

/// `Ok` for a stored (or duplicate) ack; the reason otherwise.
fn check_ack(message: &Message) -> Result<(), String> {
    if let Some(status) = message.status {
        if status == StatusCode::NO_RESPONDERS {
            return Err("publish not acknowledged: no stream listens on the subject".into());
        }
        if status != StatusCode::OK {
            return Err(format!("publish not acknowledged: status {status}"));
        }
    }
    match serde_json::from_slice::<AckBody<'_>>(&message.payload) {
        Ok(AckBody { error: Some(e), .. }) => Err(format!(
            "publish not acknowledged: error {} {}",
            e.code,
            e.description.as_deref().unwrap_or("")
        )),
        Ok(AckBody { seq: Some(_), .. }) => Ok(()),
        Ok(AckBody { .. }) => Err(format!(
            "publish not acknowledged: ack without a sequence: {}",
            String::from_utf8_lossy(&message.payload)
        )),
        Err(e) => Err(format!("publish not acknowledged: unreadable ack ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: &str, status: Option<StatusCode>) -> Message {
        Message {
            subject: "_INBOX.x.0".into(),
            reply: None,
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            headers: None,
            status,
            description: None,
            length: payload.len(),
        }
    }

    #[test]
    fn stored_and_duplicate_acks_pass_and_errors_name_the_reason() {
        assert!(check_ack(&message(r#"{"stream":"S","seq":7}"#, None)).is_ok());
        assert!(check_ack(&message(r#"{"stream":"S","seq":7,"duplicate":true}"#, None)).is_ok());
        let err = check_ack(&message(
            r#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}"#,
            None,
        ))
        .unwrap_err();
        assert!(
            err.contains("503") && err.contains("maximum messages"),
            "{err}"
        );
        let err = check_ack(&message("", Some(StatusCode::NO_RESPONDERS))).unwrap_err();
        assert!(err.contains("no stream"), "{err}");
        assert!(check_ack(&message("{}", None)).is_err());
        assert!(check_ack(&message("not json", None)).is_err());
    }
}
