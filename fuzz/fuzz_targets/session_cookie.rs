//! Fuzzes the session cookie's way in: the `sessionid` value (and a whole `Cookie` header)
//! through `SessionMiddleware` with the signed-cookie engine (the value is `signing.loads`ed
//! with a max age) and with the database engine (the value is a key; a row's data is
//! `signing.loads`ed). Never panics, never answers an error for a bad cookie, never writes a
//! header with a line break; a value that does load and re-encodes gives the same data back.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use handler_core::contrib::sessions::middleware::SessionMiddleware;
use handler_core::contrib::sessions::{
    DbSessionStore, RequestSessionExt, SessionData, SessionDatabase, SessionError, SessionStore,
    SignedCookieSessionStore,
};
use handler_core::http::{HttpRequest, HttpResponse};
use handler_core::signing::SecretKeys;
use handler_core::{Middleware, Settings};
use libfuzzer_sys::fuzz_target;

/// The key the seeds in fuzz/seeds/session_cookie were signed with (by Django's
/// `signing.dumps`, for the signed-cookie engine and for a database row).
const KEY: &str = "fuzz-session-key";

/// A session table whose only row holds the fuzzer's bytes as its data.
struct OneRow(Mutex<HashMap<String, String>>);

impl SessionDatabase for OneRow {
    fn get(&self, k: &str, _now: SystemTime) -> Result<Option<String>, SessionError> {
        Ok(self.0.lock().unwrap().get(k).cloned())
    }
    fn exists(&self, k: &str) -> Result<bool, SessionError> {
        Ok(self.0.lock().unwrap().contains_key(k))
    }
    fn insert(&self, k: &str, d: &str, _e: SystemTime) -> Result<bool, SessionError> {
        Ok(self.0.lock().unwrap().insert(k.into(), d.into()).is_none())
    }
    fn update(&self, k: &str, d: &str, _e: SystemTime) -> Result<bool, SessionError> {
        Ok(self.0.lock().unwrap().insert(k.into(), d.into()).is_some())
    }
    fn delete(&self, k: &str) -> Result<(), SessionError> {
        self.0.lock().unwrap().remove(k);
        Ok(())
    }
    fn clear_expired(&self, _now: SystemTime) -> Result<(), SessionError> {
        Ok(())
    }
}

fn settings() -> Arc<Settings> {
    let mut s = Settings::default();
    s.secret_key = KEY.into();
    Arc::new(s)
}

/// One request through the middleware: the view reads and bumps `count`.
fn cycle(mw: &SessionMiddleware, settings: &Arc<Settings>, cookie: &str) {
    let mut r =
        HttpRequest::new("GET", "/", "", Arc::clone(settings)).with_header("Cookie", cookie);
    assert!(mw.process_request(&mut r).unwrap().is_none());
    let session = r.session().expect("the middleware attached a session");
    let count = session
        .get("count")
        .expect("a bad cookie is an empty session, not an error")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    session.set("count", count.wrapping_add(1)).unwrap();
    let response = mw
        .process_response(&mut r, HttpResponse::new("ok"))
        .expect("saving never fails for a bad cookie");
    for (name, value) in response.headers.iter() {
        assert!(!name.contains(['\r', '\n']) && !value.contains(['\r', '\n', '\0']));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let settings = settings();
    let signed = SignedCookieSessionStore::new(&settings).unwrap();
    // The signed-cookie engine's decoder on its own: what loads re-encodes to the same data.
    if let Some(loaded) = signed.decode(&text) {
        let again = signed.encode(&loaded).unwrap();
        assert_eq!(signed.decode(&again), Some(loaded));
    }
    let signed_mw = SessionMiddleware::new(&settings, Arc::new(signed)).unwrap();
    cycle(&signed_mw, &settings, &format!("sessionid={text}"));
    cycle(&signed_mw, &settings, &text);

    // The database engine: the bytes as a key, and as a stored row's data.
    let table = Arc::new(OneRow(Mutex::new(HashMap::new())));
    let keys = SecretKeys::new(KEY, Vec::<String>::new()).unwrap();
    let db = DbSessionStore::new(table.clone(), keys);
    let _: SessionData = db.decode(&text);
    table
        .0
        .lock()
        .unwrap()
        .insert("fuzzsessionkey0123".into(), text.to_string());
    let store: Arc<dyn SessionStore> = Arc::new(db);
    let db_mw = SessionMiddleware::new(&settings, store).unwrap();
    cycle(&db_mw, &settings, "sessionid=fuzzsessionkey0123");
    cycle(&db_mw, &settings, &format!("sessionid={text}"));
});
