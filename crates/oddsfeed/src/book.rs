//! The live book (docs/BOOK.md), from `oddsfeed-book`: state per fixture and market built from
//! the typed messages, kept by a client when asked (`WsClient::book`, `ImgClient::book`) or
//! fed by the application with [`crate::live_book`].

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
