//! `kind: connection` documents: the secret lint, exactly one kind block, and that kind's
//! compile step (`connections/<kind>/compile.rs`).

use super::Compiler;
use crate::connections::{Connection, Settings};
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::model::ConnectionSpec;

impl Compiler<'_> {
    /// Checks what connections name of each other (an `aws_sigv4` signer or an `eks` presigner
    /// names an `aws` connection), once every connection is compiled; a connection with a wrong
    /// reference is dropped (its diagnostics say why).
    pub(crate) fn check_connection_references(&mut self, docs: &[&Document], connections: &mut crate::actions::Connections) {
        use crate::connections::http::HttpAuth;
        let mut broken = Vec::new();
        for (name, connection) in connections.iter() {
            let Settings::Http(http) = &connection.settings else { continue };
            let (pointer, signer) = match http.auth.as_deref() {
                Some(HttpAuth::AwsSigv4 { connection: Some(signer), .. }) => ("/http/auth/aws_sigv4/connection", signer),
                Some(HttpAuth::Eks { connection: signer, .. }) => ("/http/auth/eks/connection", signer),
                _ => continue,
            };
            let Some(doc) = docs.iter().find(|d| matches!(&d.spec, crate::spec::Spec::Connection(c) if &c.name == name)) else { continue };
            if !self.resolve_connection(doc, pointer, &Some(signer.clone()), "aws", connections) {
                broken.push(name.clone());
            }
        }
        for name in broken {
            connections.remove(&name);
        }
    }

    /// Compiles one connection document; `None` when it has errors (all reported).
    pub(crate) fn connection(&mut self, doc: &Document, spec: &ConnectionSpec) -> Option<Connection> {
        self.inline_secrets(doc, "", &doc.json);
        let settings = match (&spec.aws, &spec.http) {
            (Some(aws), None) => Settings::Aws(crate::connections::aws::compile::compile(self, doc, aws)?),
            (None, Some(http)) => Settings::Http(crate::connections::http::compile::compile(self, doc, http)?),
            _ => {
                let n = u8::from(spec.aws.is_some()) + u8::from(spec.http.is_some());
                let msg = if n == 0 {
                    "a connection needs an `aws` or an `http` block"
                } else {
                    "a connection holds both `aws` and `http`; keep one"
                };
                self.push(doc, Code::ConnectionBlock, "", msg);
                return None;
            }
        };
        Some(Connection { name: spec.name.clone(), settings })
    }
}
