//! The typed messages an application matches on, from `oddsfeed-model`.
//!
//! Only the message vocabulary is here: the values inside [`ws::WsEvent`](crate::ws::WsEvent)
//! and [`img::ImgEvent`](crate::img::ImgEvent), the requests an IMG client sends, and the few
//! value types the configurations take ([`ApiKey`], [`ReceiveType`], [`ws::PayloadMode`],
//! [`ResumeState`], [`EntryId`]), and the parsers that read a message back from the text a client handed out
//! (its `raw`, stored in a log, a recording's output or a NATS stream): [`ws::parse_ws_json`],
//! [`ws::parse_ws_text`], [`img::parse_img_line`]. The fast in-place parser, the MessagePack
//! walk and the parser limits are the clients' business; a program that decodes frames itself depends on `oddsfeed-model` and
//! `oddsfeed-session` directly (as `oddsfeed bench decode` and the Python `Decoder` do).

pub use oddsfeed_model::ws::ReceiveType;
pub use oddsfeed_model::{ApiKey, EntryId, ModelError, ResumeState};

/// The WebSocket feed's messages (docs/PROTOCOL.md Part B).
pub mod ws {
    pub use oddsfeed_model::ws::{
        Access, BookmakerState, BookmakersPayload, ClockState, ClocksPayload, Control, DataMessage,
        DictFrame, ErrorFrame, FixturePayload, FixtureStatus, LoginOk, OddsPayload, Outcome,
        Payload, PayloadIds, PayloadMode, PeriodScore, ReceiveType, Reconnect, ResumeComplete,
        ResumeInfo, ScoresPayload, ServerEntryIds, SmallStr, SnapshotRequired, VecMap, WsMessage,
        parse_ws_json, parse_ws_text,
    };
}

/// The IMG feed's messages and requests (docs/PROTOCOL.md Part A).
pub mod img {
    pub use oddsfeed_model::img::{
        Competition, DisconnectNotice, DisconnectReason, Event, EventStage, ImgMessage, ImgTime,
        Market, MarketStatus, MarketType, MarketUpdate, PricedSelection, Push, PushBody, PushKind,
        Request, Response, ResponseStatus, Selection, Settlement, SettlementAmounts, Sport,
        SubscriptionFilter, parse_img_line,
    };
}
