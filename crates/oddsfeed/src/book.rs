//! The live book (docs/BOOK.md), from `oddsfeed-book`: state per fixture and market built from
//! the typed messages, kept by a client when asked (`WsClient::book`, `ImgClient::book`) or
//! fed by the application with [`WsEvent::apply_to`](crate::ws::WsEvent::apply_to) and
//! [`ImgEvent::apply_to`](crate::img::ImgEvent::apply_to).

/// The WebSocket feed's book.
pub mod ws {
    pub use oddsfeed_book::ws::{
        BestPrice, BookmakerStatus, NotTradable, OutcomeChange, OutcomeFacts, OutcomeView,
        OutcomeWhy, WsBook, WsChange,
    };
}

/// The IMG feed's book.
pub mod img {
    pub use oddsfeed_book::img::{ImgBook, ImgChange, ImgNotTradable, SelectionView, SelectionWhy};
}
