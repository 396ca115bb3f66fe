//! Close policy: how a connection ends (a server close, a client-side failure, an `error`
//! frame), what the session does next (reconnect after which delay, finish, or stop) and how it
//! closes everything when it stops.

use super::*;

impl WsSession {
    /// `conn` ended: with the server's close frame (`Some`), or abruptly (`None`: TCP reset, EOF
    /// without close). Ignored for a connection the session already dropped.
    pub fn handle_closed(&mut self, conn: ConnId, close: Option<CloseInfo>, now: Instant) {
        if self.stopped {
            return;
        }
        let code = close.as_ref().map(|c| c.code);
        let reason_text = close.as_ref().map(|c| c.reason.clone()).unwrap_or_default();
        let described = describe_close(close.as_ref());
        match self.find(conn).map(|(slot, _)| slot) {
            None => {}
            Some(Slot::Draining) => {
                self.draining = None;
                self.events.push_back(Event::Disconnected {
                    conn: Some(conn),
                    code,
                    reason: described,
                });
                // The replacement is already pending (or itself scheduled to retry): open no third.
            }
            Some(Slot::Primary) => {
                let Some(old) = self.primary.take() else {
                    return;
                };
                self.events.push_back(Event::Disconnected {
                    conn: Some(conn),
                    code,
                    reason: described,
                });
                let streamed_since = old.streaming_since();
                if let Some(code) = code.filter(|c| c.is_fatal_before_login())
                    && streamed_since.is_none()
                {
                    self.stop(
                        ExitHint::Auth,
                        SessionError::ClosedBeforeLoginOk {
                            code,
                            reason: reason_text,
                        },
                    );
                    return;
                }
                if code.is_some_and(CloseCode::is_slow_consumer) {
                    self.warn(
                        WarningKind::SlowConsumer,
                        format!("server closed {conn} with 4002: the client read too slowly"),
                    );
                }
                if let Some(since) = streamed_since {
                    self.reconnect
                        .backoff_mut()
                        .connection_lasted(now.saturating_duration_since(since));
                }
                if self.config.once {
                    if streamed_since.is_some() {
                        self.finish();
                    } else {
                        self.stop(
                            ExitHint::Failure,
                            SessionError::ClosedBeforeStreaming {
                                code,
                                reason: reason_text,
                            },
                        );
                    }
                    return;
                }
                let delay = if old.hint == Some(CloseHint::TooManyConnections)
                    || code.is_some_and(CloseCode::wants_backoff_floor)
                {
                    ReconnectDelay::BackoffAtLeast(self.config.too_many_connections_floor)
                } else if code.is_some_and(CloseCode::is_planned)
                    && streamed_since.is_some()
                    && self.draining.is_none()
                {
                    ReconnectDelay::Immediate
                } else {
                    ReconnectDelay::Backoff
                };
                self.schedule_reconnect(delay, now);
            }
        }
    }

    /// No connection is left: draw the delay, set the reconnect deadline and announce it. The
    /// [`Action::OpenConnection`] follows from [`handle_timeout`](Self::handle_timeout).
    pub(super) fn schedule_reconnect(&mut self, delay: ReconnectDelay, now: Instant) {
        self.want_connection = true;
        self.reconnect.schedule(delay, now);
        self.actions.push_back(Action::Reconnect { delay });
    }

    /// Forget a connection the session itself gives up on, telling the driver to close it.
    pub(super) fn drop_conn(&mut self, conn: ConnId, code: CloseCode, reason: String) {
        let removed = match self.find(conn).map(|(slot, _)| slot) {
            Some(Slot::Primary) => self.primary.take(),
            Some(Slot::Draining) => self.draining.take(),
            None => None,
        };
        if removed.is_some() {
            self.actions.push_back(Action::Close { conn, code });
            self.events.push_back(Event::Disconnected {
                conn: Some(conn),
                code: None,
                reason,
            });
        }
    }

    /// A connection failed on the client's side (login timeout, dead): drop it, then reconnect unless
    /// it was the draining one or the session runs once.
    pub(super) fn lose_conn(&mut self, conn: ConnId, error: SessionError, now: Instant) {
        let Some((slot, c)) = self.find(conn) else {
            return;
        };
        let streamed_since = c.streaming_since();
        self.drop_conn(conn, CLOSE_NORMAL, error.to_string());
        if slot == Slot::Draining {
            return;
        }
        if let Some(since) = streamed_since {
            self.reconnect
                .backoff_mut()
                .connection_lasted(now.saturating_duration_since(since));
        }
        if self.config.once {
            self.stop(ExitHint::Failure, error);
        } else {
            self.schedule_reconnect(ReconnectDelay::Backoff, now);
        }
    }

    /// Close everything and queue [`Action::Stop`].
    pub(super) fn stop(&mut self, exit: ExitHint, error: SessionError) {
        self.reconnect.cancel();
        self.close_all();
        self.stopped = true;
        self.actions.push_back(Action::Stop(Fatal { exit, error }));
    }

    /// Close everything and queue [`Action::Finished`].
    pub(super) fn finish(&mut self) {
        self.reconnect.cancel();
        self.close_all();
        self.stopped = true;
        self.actions.push_back(Action::Finished);
    }

    pub(super) fn close_all(&mut self) {
        for conn in [self.draining.take(), self.primary.take()]
            .into_iter()
            .flatten()
        {
            self.actions.push_back(Action::Close {
                conn: conn.id,
                code: CLOSE_NORMAL,
            });
        }
        self.want_connection = false;
    }

    pub(super) fn on_error_frame(&mut self, conn: ConnId, frame: ErrorFrame) {
        let code = frame.code.clone();
        let message = frame.message.clone();
        self.events.push_back(Event::ServerError {
            code: code.clone(),
            message: message.clone(),
        });
        let code_text = code.clone().unwrap_or_default();
        let message_text = message.unwrap_or_default();
        match code.as_deref() {
            Some("login_failed") => self.stop(
                ExitHint::Auth,
                SessionError::LoginRefused {
                    code: code_text,
                    message: message_text,
                },
            ),
            Some("first_message_must_be_login") => self.stop(
                ExitHint::Failure,
                SessionError::ProtocolBug {
                    code: code_text,
                    message: message_text,
                },
            ),
            Some("too_many_connections") => {
                if let Some((_, c)) = self.find(conn) {
                    c.hint = Some(CloseHint::TooManyConnections);
                }
            }
            _ => {}
        }
    }
}

fn describe_close(close: Option<&CloseInfo>) -> String {
    match close {
        None => "connection lost without a close frame".to_owned(),
        Some(c) if c.reason.is_empty() => format!("closed by the server with {}", c.code),
        Some(c) => format!("closed by the server with {}: {}", c.code, c.reason),
    }
}
