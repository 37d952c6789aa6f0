//! Connection `auth:` against a real HTTP server on 127.0.0.1: `basic`, `bearer_file` (the
//! file rotates between calls, as a projected Kubernetes service-account token does) and
//! `oauth2_client_credentials` (RFC 6749 section 4.4: the client authenticates to the token
//! endpoint with HTTP basic, gets `{"access_token", "expires_in"}`; the API answers 401 once the
//! token is revoked, and a new one is fetched once).

mod common;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use toolwright::actions::{CallContext, ToolOutput, render};
use toolwright::catalog::{Catalog, SecretMode};
use toolwright::compile::compile_dirs;
use toolwright::connections::Clients;

/// What the fake API and token endpoint saw and hand out.
#[derive(Default)]
struct Fake {
    /// `Authorization` of every API call.
    api_auth: Mutex<Vec<String>>,
    /// `Authorization` and body of every token request.
    token_requests: Mutex<Vec<(String, String)>>,
    /// The token the API accepts now (the token endpoint hands it out).
    valid_token: Mutex<String>,
}

async fn respond(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 16).await.unwrap_or_default();
    let auth = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    match parts.uri.path() {
        "/token" => {
            fake.token_requests.lock().expect("lock").push((auth.clone(), String::from_utf8_lossy(&body).into_owned()));
            // client id `app`, secret `s3cret-value` (RFC 6749 2.3.1: form-encoded, then basic).
            if auth != "Basic YXBwOnMzY3JldC12YWx1ZQ==" {
                return (StatusCode::UNAUTHORIZED, "{\"error\": \"invalid_client\"}").into_response();
            }
            let token = fake.valid_token.lock().expect("lock").clone();
            (
                [(header::CONTENT_TYPE, "application/json")],
                json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}).to_string(),
            )
                .into_response()
        }
        _ => {
            fake.api_auth.lock().expect("lock").push(auth.clone());
            let valid = fake.valid_token.lock().expect("lock").clone();
            let ok = auth == "Basic b3BzOnB3LXZhbHVl" || auth == format!("Bearer {valid}");
            if ok {
                ([(header::CONTENT_TYPE, "application/json")], json!({"ok": true, "echo": auth}).to_string()).into_response()
            } else {
                (StatusCode::UNAUTHORIZED, "no").into_response()
            }
        }
    }
}

async fn start(fake: Arc<Fake>) -> String {
    let addr = common::serve("127.0.0.1", Router::new().fallback(respond).with_state(fake)).await;
    format!("http://{addr}")
}

fn catalog(dir: &std::path::Path, yaml: &str) -> Catalog {
    std::fs::write(dir.join("tools.yaml"), yaml).expect("write spec");
    let compiled = compile_dirs(&[dir.to_path_buf()], None);
    compiled
        .catalog
        .unwrap_or_else(|| panic!("does not compile: {:?}", compiled.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()))
}

fn spec(base: &str, auth: &str) -> String {
    format!(
        "kind: connection\nname: api\nhttp:\n  base_url: {base}\n  allow_private_networks: true\n  auth:\n{auth}---\n\
         kind: tool\nname: ping\ndescription: Ping the API.\ninput: {{type: object}}\naction:\n  http: {{connection: api, url: /ping}}\n"
    )
}

async fn call(clients: &Clients, catalog: &Catalog) -> Result<ToolOutput, String> {
    let tool = catalog.tool("ping").expect("tool");
    let args = tool.prepare_args(None).map_err(|e| e.message)?;
    let request = render(catalog, tool, &args, SystemTime::now(), SecretMode::Resolve).map_err(|e| e.message)?;
    request.execute(clients, &CallContext::new(tokio_util::sync::CancellationToken::new(), tool.timeout, None)).await
}

fn set_env(name: &str, value: &str) {
    // SAFETY: each test sets its own variable before it starts anything that reads the environment.
    unsafe { std::env::set_var(name, value) };
}

#[tokio::test]
async fn basic_auth_is_sent_and_never_rendered() {
    set_env("TW_AUTH_TEST_BASIC_PW", "pw-value");
    let fake = Arc::new(Fake::default());
    let base = start(Arc::clone(&fake)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = catalog(dir.path(), &spec(&base, "    basic: {username: ops, password: \"{{ secret('TW_AUTH_TEST_BASIC_PW') }}\"}\n"));
    let clients = Clients::new(catalog.connections().values());
    let out = call(&clients, &catalog).await.expect("basic auth accepted");
    assert_eq!(out.structured.as_ref().and_then(|v| v.get("ok")), Some(&json!(true)));
    // The backend echoed the credential: it is masked in what the model reads.
    assert!(!out.text.contains("b3BzOnB3LXZhbHVl") && out.text.contains("***"), "{}", out.text);
    // `toolwright render` shows the header without the secret.
    let rendered = toolwright::runtime::render_only(&catalog, "ping", None).expect("known").expect("renders");
    let text = rendered.to_string();
    assert!(!text.contains("pw-value") && !text.contains("b3BzOnB3LXZhbHVl"), "{text}");
}

#[tokio::test]
async fn a_bearer_file_is_read_again_when_it_rotates() {
    let fake = Arc::new(Fake::default());
    *fake.valid_token.lock().expect("lock") = "token-one".into();
    let base = start(Arc::clone(&fake)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("token"), "token-one\n").expect("token file");
    // A path relative to the spec file's directory.
    let catalog = catalog(dir.path(), &spec(&base, "    bearer_file: token\n"));
    let clients = Clients::new(catalog.connections().values());
    call(&clients, &catalog).await.expect("first token");
    // The kubelet writes a new token (a new file swapped in).
    *fake.valid_token.lock().expect("lock") = "token-two-rotated".into();
    std::fs::write(dir.path().join("token.new"), "token-two-rotated\n").expect("token file");
    std::fs::rename(dir.path().join("token.new"), dir.path().join("token")).expect("swap");
    call(&clients, &catalog).await.expect("the rotated token is used");
    let seen = fake.api_auth.lock().expect("lock").clone();
    assert_eq!(seen, ["Bearer token-one", "Bearer token-two-rotated"]);
    // An unreadable file is a tool error that names it, not a panic.
    std::fs::remove_file(dir.path().join("token")).expect("remove");
    let err = call(&clients, &catalog).await.expect_err("no token file");
    assert!(err.contains("cannot read the bearer token file") && err.contains("token"), "{err}");
}

#[tokio::test]
async fn oauth2_tokens_are_kept_and_fetched_again_after_a_401() {
    set_env("TW_AUTH_TEST_OAUTH_SECRET", "s3cret-value");
    let fake = Arc::new(Fake::default());
    *fake.valid_token.lock().expect("lock") = "oauth-one".into();
    let base = start(Arc::clone(&fake)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = format!(
        "    oauth2_client_credentials:\n      token_url: {base}/token\n      client_id: app\n      client_secret: \"{{{{ secret('TW_AUTH_TEST_OAUTH_SECRET') }}}}\"\n      scopes: [read, write]\n"
    );
    let catalog = catalog(dir.path(), &spec(&base, &auth));
    let clients = Clients::new(catalog.connections().values());
    call(&clients, &catalog).await.expect("first call");
    call(&clients, &catalog).await.expect("second call, same token");
    assert_eq!(fake.token_requests.lock().expect("lock").len(), 1, "the token is kept between calls");
    let (_, body) = fake.token_requests.lock().expect("lock")[0].clone();
    assert!(body.contains("grant_type=client_credentials") && body.contains("scope=read+write"), "{body}");
    // The server revokes the token: the next call gets a 401, fetches a new token once, succeeds.
    *fake.valid_token.lock().expect("lock") = "oauth-two".into();
    call(&clients, &catalog).await.expect("a new token after the 401");
    assert_eq!(fake.token_requests.lock().expect("lock").len(), 2);
    let seen = fake.api_auth.lock().expect("lock").clone();
    assert_eq!(seen, ["Bearer oauth-one", "Bearer oauth-one", "Bearer oauth-one", "Bearer oauth-two"]);
    // A wrong client secret is a clear tool error without the secret or the answer echoed.
    set_env("TW_AUTH_TEST_OAUTH_SECRET", "wrong");
    let fresh = Clients::new(catalog.connections().values());
    let err = call(&fresh, &catalog).await.expect_err("refused");
    assert!(err.contains("could not get an OAuth token") && err.contains("401") && !err.contains("wrong"), "{err}");
}

#[test]
fn auth_kinds_are_checked_by_the_compile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "kind: connection\nname: api\nhttp:\n  base_url: https://api.example.com\n  auth:\n    bearer_file: /t\n    basic: {username: a, password: b}\n";
    std::fs::write(dir.path().join("c.yaml"), yaml).expect("write");
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    let codes: Vec<&str> = compiled.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains(&"auth-count"), "{codes:?}");
    let yaml = "kind: connection\nname: api\nhttp:\n  base_url: https://api.example.com\n  tls: {client_cert_file: c.pem}\n";
    std::fs::write(dir.path().join("c.yaml"), yaml).expect("write");
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    assert!(compiled.diagnostics.iter().any(|d| d.message.contains("needs `client_key_file`")), "{:?}", compiled.diagnostics);
    let _ = Value::Null;
}
