//! Prompt messages that are images or audio (`{role, image: PATH}`, `{role, audio: PATH}`):
//! files of the catalog read when it is compiled, served by `prompts/get` as they were read, with
//! the media type written or guessed from the extension; the catalog's hash covers them, so an
//! edited image is a reload. (The MCP side, an image content block, is checked by the conformance
//! scenario `prompts-get-with-image` against tests/conformance/tools.d.)

use std::path::Path;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolwright::compile::compile_dirs;
use toolwright::prompts::Binary;
use toolwright::prompts::get::Content;
use toolwright::runtime::Runtime;

/// A PNG signature and header chunk: what matters is that the bytes come back unchanged.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";
/// The start of a WAV file.
const WAV: &[u8] = b"RIFF\x24\x00\x00\x00WAVEfmt ";

const SPEC: &str = "kind: prompt
name: explain_panel
messages:
  - role: user
    image: panels/latency.png
  - role: assistant
    audio: tone.bin
    mime_type: audio/wav
  - role: user
    text: What does the panel show?
";

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

#[tokio::test]
async fn image_and_audio_messages_are_served_as_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "prompts.yaml", SPEC.as_bytes());
    write(dir.path(), "panels/latency.png", PNG);
    write(dir.path(), "tone.bin", WAV);
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    let catalog = compiled.catalog.expect("catalog");
    let first_hash = catalog.hash().to_owned();
    let runtime = Runtime::new(catalog).expect("runtime");
    let loaded = runtime.current();
    let prompt = loaded.catalog.prompt("explain_panel").expect("prompt").clone();
    let got = toolwright::prompts::get::get(
        &loaded,
        &prompt,
        Vec::<(String, Value)>::new(),
        toolwright::catalog::ALL_VISIBLE,
        &CancellationToken::new(),
    )
    .await
    .expect("get");
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].content, Content::Image(Binary { mime_type: "image/png".into(), data: PNG.into() }));
    assert_eq!(got[1].content, Content::Audio(Binary { mime_type: "audio/wav".into(), data: WAV.into() }));
    assert_eq!(got[2].content, Content::Text("What does the panel show?".into()));

    // The same specs with another image are another catalog: a reload sees the edit.
    write(dir.path(), "panels/latency.png", &[PNG, b"\x00"].concat());
    let again = compile_dirs(&[dir.path().to_path_buf()], None).catalog.expect("catalog");
    assert_ne!(again.hash(), first_hash);
    // And unchanged files give the hash in force: nothing to reload.
    let same = compile_dirs(&[dir.path().to_path_buf()], Some(again.hash()));
    assert!(same.unchanged && same.catalog.is_none());
}
