//! Fuzzes the articles app's model of Python's `json.loads` (`articles::pyjson`), a hand-written
//! parser of untrusted request bodies: it never panics; everything strict RFC 8259 JSON that
//! serde_json accepts it accepts too (Python's `json` is a superset: NaN, Infinity, other
//! encodings); and what it loads, `json.dumps` of it loads back to the same text (`dumps` is
//! what the app answers with, so it must be JSON the app itself reads).
#![no_main]

use articles::pyjson::{loads, LoadError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let loaded = loads(data);
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        // serde_json stops at 128 levels, far below the model's RecursionError depth.
        assert!(
            loaded.is_ok(),
            "serde_json accepts, json.loads refuses: {loaded:?}"
        );
    }
    let value = match loaded {
        Ok(value) => value,
        Err(LoadError::Invalid(_) | LoadError::TooDeep) => return,
    };
    // What the views do with a value: truthiness, str() for storage, dumps for the answer.
    let _ = value.is_truthy();
    let _ = value.to_py_str();
    let text = value.dumps();
    let again = loads(text.as_bytes()).expect("dumps output loads");
    assert_eq!(again.dumps(), text, "dumps(loads(dumps(v))) == dumps(v)");
});
