//! Resume reconciliation: what `login_ok` says about the cursors and the replay, the
//! `snapshot_required` frames, and dedupe of data against the delivered cursors.

use super::*;

impl WsSession {
    pub(super) fn on_data(&mut self, conn: ConnId, msg: DataMessage) {
        let streaming = self.find(conn).is_some_and(|(_, c)| c.is_streaming());
        if !streaming {
            self.stats.dropped_before_login_ok += 1;
            self.warn(
                WarningKind::BeforeLoginOk,
                format!("{} data on {conn} before login_ok; dropped", msg.channel),
            );
            return;
        }
        let tracked = self.touched.contains(&msg.channel)
            || self.cursors.delivered().contains_key(&msg.channel)
            || (msg.channel.len() <= MAX_CHANNEL_NAME && self.touched.len() < MAX_TRACKED_CHANNELS);
        if !tracked {
            self.warn(
                WarningKind::UntrackedChannel,
                format!(
                    "data on a channel beyond the tracking limits ({MAX_TRACKED_CHANNELS} channels, \
                     {MAX_CHANNEL_NAME}-byte names): delivered without dedupe or cursor"
                ),
            );
            self.stats.data_delivered += 1;
            self.events.push_back(Event::Data(msg));
            return;
        }
        match msg.entry_id {
            Some(id) if !self.cursors.is_new(&msg.channel, &id) => {
                self.stats.duplicates_dropped += 1;
                return;
            }
            Some(id) => self.cursors.mark_delivered(&msg.channel, id),
            None => {
                let raw = msg.entry_id_raw.as_deref().unwrap_or("(missing)");
                self.warn(
                    WarningKind::BadEntryId,
                    format!(
                        "{} message with entryId {raw:?}: delivered, cursor unchanged",
                        msg.channel
                    ),
                );
            }
        }
        if !self.touched.contains(&msg.channel) {
            self.touched.insert(msg.channel.clone());
        }
        self.stats.data_delivered += 1;
        self.events.push_back(Event::Data(msg));
    }

    pub(super) fn on_login_ok(&mut self, conn: ConnId, ok: LoginOk, now: Instant) {
        let awaiting = match self.primary.as_ref() {
            Some(Conn {
                id,
                phase: Phase::AwaitingLoginOk(a),
                ..
            }) if *id == conn => a.clone(),
            _ => {
                self.warn(
                    WarningKind::UnexpectedLoginOk,
                    format!("login_ok on {conn}, which is not awaiting one; ignored"),
                );
                return;
            }
        };

        // The decoder follows the negotiated mode, never the request.
        let raw_mode = ok.receive_type.clone();
        let negotiated = ok.negotiated();
        let server_epoch = ok.epoch().map(str::to_owned);
        let channels = ok.channels.clone();
        self.events.push_back(Event::LoginOk {
            conn,
            receive_type: negotiated,
            channels: channels.clone(),
            live: ok.access.as_ref().and_then(|a| a.live),
            pregame: ok.access.as_ref().and_then(|a| a.pregame),
            server_epoch: server_epoch.clone(),
        });
        match negotiated {
            Some(mode) if mode != self.config.receive_type => {
                self.events.push_back(Event::Downgraded {
                    requested: self.config.receive_type,
                    negotiated: mode,
                });
            }
            Some(_) => {}
            None => self.warn(
                WarningKind::UnknownReceiveType,
                format!(
                    "login_ok receiveType {:?}: every frame is sniffed",
                    raw_mode.as_deref().unwrap_or("(missing)")
                ),
            ),
        }

        // B.9 step 4: a new epoch invalidates every cursor.
        let epoch_changed = matches!(
            (self.cursors.epoch(), server_epoch.as_deref()),
            (Some(old), Some(new)) if old != new
        );
        if let Some(epoch) = &server_epoch {
            self.cursors.set_epoch(epoch.clone());
        }
        let replay: BTreeSet<String> = ok
            .resume
            .as_ref()
            .and_then(|r| r.replay_channels.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        let server_ids = ok.resume.as_ref().and_then(|r| r.server_entry_ids.as_ref());
        let subscribed: Option<BTreeSet<String>> =
            channels.as_ref().map(|list| list.iter().cloned().collect());

        // B.9 step 8: channels that delivered data but are not resumed by this login.
        let mut with_data: BTreeSet<String> = self.touched.clone();
        with_data.extend(self.cursors.delivered().keys().cloned());
        let raise: Vec<String> = with_data
            .into_iter()
            .filter(|ch| subscribed.as_ref().is_none_or(|s| s.contains(ch)))
            .filter(|ch| {
                epoch_changed || !(awaiting.sent_cursors.contains_key(ch) && replay.contains(ch))
            })
            .collect();
        if epoch_changed {
            self.cursors.clear_all();
        } else {
            for ch in &raise {
                self.cursors.clear(ch);
            }
            // Same epoch: a server behind the cursor this login sent resets that cursor.
            let same_epoch = server_epoch.is_some() && server_epoch == awaiting.sent_epoch;
            if same_epoch {
                for (ch, sent) in &awaiting.sent_cursors {
                    if raise.contains(ch) {
                        continue;
                    }
                    if let Some(Ok(server)) = server_ids.and_then(|ids| ids.get(ch))
                        && server < *sent
                    {
                        self.cursors.clear(ch);
                        self.warn(
                            WarningKind::CursorReset,
                            format!(
                                "{ch}: server is at {server}, behind the cursor {sent} this login sent; cursor reset"
                            ),
                        );
                    }
                }
            }
        }
        if !raise.is_empty() {
            self.events.push_back(Event::SnapshotRequired {
                reason: if epoch_changed {
                    "server_restarted".to_owned()
                } else {
                    "not_replayable".to_owned()
                },
                channels: raise,
                raised_by_client: true,
            });
        }
        self.replay_channels = Some(replay);
        if let Some(c) = self.primary.as_mut() {
            c.phase = Phase::Streaming(Streaming {
                since: now,
                mode: negotiated,
            });
        }
        // B.9 step 7: the replacement is in; close the drained connection and ignore the rest of it.
        if let Some(old) = self.draining.as_ref().map(|c| c.id) {
            self.drop_conn(
                old,
                CLOSE_NORMAL,
                format!("replaced by {conn} after a reconnect request"),
            );
        }
    }

    pub(super) fn on_snapshot_required(&mut self, frame: SnapshotRequired) {
        let channels: Vec<String> = match frame.channels {
            Some(list) => list,
            None => {
                let mut all: BTreeSet<String> = self.touched.clone();
                all.extend(self.cursors.delivered().keys().cloned());
                all.into_iter().collect()
            }
        };
        for ch in &channels {
            self.cursors.clear(ch);
        }
        self.events.push_back(Event::SnapshotRequired {
            reason: frame.reason.unwrap_or_else(|| "unspecified".to_owned()),
            channels,
            raised_by_client: false,
        });
    }
}
