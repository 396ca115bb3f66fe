//! Client requests (docs/PROTOCOL.md A.3, A.4).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request line: `{"request":..,"msg":{..},"request_id":..}`.
///
/// Serialises compactly in that key order, leaving out a `None` request id; other top-level
/// fields read from a request (`extra`) are written after them.
///
/// ```
/// use oddsfeed_model::img::{Request, SubscriptionFilter};
/// assert_eq!(Request::init(false).to_json(), r#"{"request":"init","msg":{}}"#);
/// let filter = SubscriptionFilter { event_ids: Some(vec!["ev.1".into()]), ..Default::default() };
/// let sub = Request::subscribe(&filter).with_request_id("r2");
/// assert_eq!(sub.to_json(), r#"{"request":"subscribe","msg":{"event_ids":["ev.1"]},"request_id":"r2"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The request name: `init`, `subscribe`, `unsubscribe`, ...
    pub request: String,
    /// The request's argument, an object (`{}` when empty or absent).
    #[serde(default = "empty_object")]
    pub msg: Value,
    /// The correlation id echoed by the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Any other top-level fields, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl Request {
    /// A request with an empty `msg` and no id.
    pub fn new(request: impl Into<String>) -> Self {
        Self {
            request: request.into(),
            msg: empty_object(),
            request_id: None,
            extra: Map::new(),
        }
    }

    /// `init`, with `{"include_finished":true}` when asked, else `{}`.
    pub fn init(include_finished: bool) -> Self {
        let mut req = Self::new("init");
        if include_finished {
            let mut msg = Map::new();
            msg.insert("include_finished".into(), Value::Bool(true));
            req.msg = Value::Object(msg);
        }
        req
    }

    /// `subscribe` with `filter` as `msg`.
    pub fn subscribe(filter: &SubscriptionFilter) -> Self {
        let mut req = Self::new("subscribe");
        req.msg = filter.to_value();
        req
    }

    /// `unsubscribe` with `filter` as `msg` (`{}` removes every subscription).
    pub fn unsubscribe(filter: &SubscriptionFilter) -> Self {
        let mut req = Self::new("unsubscribe");
        req.msg = filter.to_value();
        req
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// The request as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("request".into(), Value::String(self.request.clone()));
        map.insert("msg".into(), self.msg.clone());
        if let Some(id) = &self.request_id {
            map.insert("request_id".into(), Value::String(id.clone()));
        }
        for (key, value) in &self.extra {
            if !map.contains_key(key) {
                map.insert(key.clone(), value.clone());
            }
        }
        Value::Object(map)
    }

    /// The compact JSON line to send (without the trailing `\n`).
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

/// A `subscribe`/`unsubscribe` filter (A.4): absent keys are unrestricted, `{}` matches
/// every market, and a market matches when it satisfies every present key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionFilter {
    /// `event_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_ids: Option<Vec<String>>,
    /// `market_type_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_type_ids: Option<Vec<String>>,
    /// `market_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_ids: Option<Vec<String>>,
}

impl SubscriptionFilter {
    /// The filter as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        for (key, ids) in [
            ("event_ids", &self.event_ids),
            ("market_type_ids", &self.market_type_ids),
            ("market_ids", &self.market_ids),
        ] {
            if let Some(ids) = ids {
                let list = ids.iter().cloned().map(Value::String).collect();
                map.insert(key.into(), Value::Array(list));
            }
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_serialize_compactly() {
        assert_eq!(
            Request::init(false).to_json(),
            r#"{"request":"init","msg":{}}"#
        );
        assert_eq!(
            Request::init(true).with_request_id("r1").to_json(),
            r#"{"request":"init","msg":{"include_finished":true},"request_id":"r1"}"#
        );
        let filter = SubscriptionFilter {
            event_ids: Some(vec!["ev.1".into(), "ev.2".into()]),
            market_type_ids: Some(vec!["mt.golf_threeball_hole".into()]),
            market_ids: Some(vec![]),
        };
        assert_eq!(
            Request::subscribe(&filter).to_json(),
            r#"{"request":"subscribe","msg":{"event_ids":["ev.1","ev.2"],"market_type_ids":["mt.golf_threeball_hole"],"market_ids":[]}}"#
        );
        assert_eq!(
            Request::unsubscribe(&SubscriptionFilter::default()).to_json(),
            r#"{"request":"unsubscribe","msg":{}}"#
        );
        // serde agrees with to_json
        let req = Request::init(true).with_request_id("r9");
        assert_eq!(serde_json::to_string(&req).unwrap(), req.to_json());
    }

    #[test]
    fn reads_requests_with_defaults_and_extra_fields() {
        let req: Request = serde_json::from_str(r#"{"request":"subscribe"}"#).unwrap();
        assert_eq!(req, Request::new("subscribe"));
        let req: Request =
            serde_json::from_str(r#"{"request":"x","msg":{"a":1},"request_id":"r7","trace":true}"#)
                .unwrap();
        assert_eq!(req.msg, json!({"a": 1}));
        assert_eq!(req.request_id.as_deref(), Some("r7"));
        assert_eq!(req.extra.get("trace"), Some(&json!(true)));
        assert_eq!(
            req.to_json(),
            r#"{"request":"x","msg":{"a":1},"request_id":"r7","trace":true}"#
        );
        let filter: SubscriptionFilter =
            serde_json::from_value(json!({"market_ids":["m1"]})).unwrap();
        assert_eq!(filter.market_ids, Some(vec!["m1".to_owned()]));
        assert_eq!(filter.event_ids, None);
    }
}
