//! The JSON document the `serialize` and `large` groups encode, and how a
//! workload encodes it: through `&mut dyn io::Write` (opaque) or the
//! concrete writer (inlined).

use serde::Serialize;

use crate::Write;

/// A JSON API response: records with strings, numbers and a nested array.
#[derive(Serialize)]
pub struct Doc {
    pub items: Vec<Item>,
}

#[derive(Serialize)]
pub struct Item {
    pub id: u64,
    pub name: String,
    pub score: f64,
    pub tags: Vec<&'static str>,
    pub active: bool,
}

/// A document whose JSON encoding is about `bytes` long (a little over).
pub fn doc(bytes: usize) -> Doc {
    let mut doc = Doc { items: Vec::new() };
    // `{"items":[` + `]}`, then each item and a comma: linear, so that a
    // 32 MiB document is built in a moment.
    let mut len = 12;
    let mut i = 0;
    while len < bytes {
        let item = Item {
            id: 1_000_000 + i,
            name: format!("user-{i:05}"),
            score: i as f64 * 1.25,
            tags: vec!["a", "bb", "ccc"],
            active: i % 2 == 0,
        };
        len += serde_json::to_vec(&item).expect("serializes").len() + 1;
        doc.items.push(item);
        i += 1;
    }
    doc
}

/// Encodes `doc` into `out`, through `&mut dyn io::Write` when opaque (each
/// write an indirect call, as into a writer the compiler cannot see), or
/// through the concrete writer, which serde_json's generic code then
/// inlines.
#[inline]
pub(crate) fn encode<W: Write, O: std::io::Write>(out: &mut O, doc: &Doc) {
    if W::NAME == "opaque" {
        serde_json::to_writer(out as &mut dyn std::io::Write, doc).expect("serializes");
    } else {
        serde_json::to_writer(out, doc).expect("serializes");
    }
}
