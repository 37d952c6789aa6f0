//! The AWS SDK's HTTP client under a [`Tape`] (`toolwright test --record/--replay`): the SDK
//! takes an HTTP client (`http_client` in its configuration), so the CloudWatch clients get one
//! that records each exchange around the SDK's own HTTPS client, or answers from the recording
//! with no client at all behind it (nothing can reach the network). Only the CloudWatch clients
//! get it: credential providers (STS, SSO, instance metadata) keep the default client, so their
//! answers, which hold credentials, are never recorded.

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

use crate::connections::tape::{Body, CREDENTIAL_HEADERS, Exchange, RecordedRequest, RecordedResponse, Tape};

/// The HTTP client of CloudWatch clients under a tape: records around `inner` (record), or
/// answers from the recording (replay, `inner` is `None`).
#[derive(Debug)]
struct TapeClient {
    tape: Arc<Tape>,
    inner: Option<SharedHttpClient>,
}

/// The client to give the SDK: in record mode the SDK's default HTTPS client (hyper 1 with
/// rustls and aws-lc, what `default-https-client` builds) wrapped; in replay mode none behind.
pub(crate) fn client(tape: &Arc<Tape>) -> SharedHttpClient {
    let inner = (!tape.replaying()).then(|| {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https()
    });
    SharedHttpClient::new(TapeClient { tape: Arc::clone(tape), inner })
}

impl HttpClient for TapeClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.as_ref().map(|c| c.http_connector(settings, components));
        SharedHttpConnector::new(TapeConnector { tape: Arc::clone(&self.tape), inner })
    }
}

#[derive(Debug)]
struct TapeConnector {
    tape: Arc<Tape>,
    inner: Option<SharedHttpConnector>,
}

/// The request as the tape keeps it (header names in lower case; a streaming body, which no
/// CloudWatch operation sends, is kept as none).
fn recorded(request: &HttpRequest) -> RecordedRequest {
    RecordedRequest {
        method: request.method().to_owned(),
        url: request.uri().to_owned(),
        headers: request.headers().iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned())).collect(),
        body: request.body().bytes().and_then(Body::of),
    }
}

fn error(message: String) -> ConnectorError {
    ConnectorError::other(message.into(), None)
}

/// A recorded response as the SDK's.
fn response(recorded: &RecordedResponse) -> Result<HttpResponse, ConnectorError> {
    let status = recorded.status.try_into().map_err(|e| error(format!("replay: the recorded status is not valid: {e}")))?;
    let body = match &recorded.body {
        Some(b) => b.bytes().map_err(error)?,
        None => Vec::new(),
    };
    let mut out = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in &recorded.headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        out.headers_mut().append(name.clone(), value.clone());
    }
    Ok(out)
}

impl HttpConnector for TapeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let kept = recorded(&request);
        let tape = Arc::clone(&self.tape);
        let Some(inner) = self.inner.clone() else {
            // A recorded failure to connect comes back as an I/O error, which the SDK retries as
            // it did when recording; a request that differs from the recording is not retried.
            let answer = match tape.answer(&kept) {
                Ok(Ok(recorded)) => response(&recorded),
                Ok(Err(message)) => Err(ConnectorError::io(message.into())),
                Err(problem) => Err(error(problem)),
            };
            return HttpConnectorFuture::ready(answer);
        };
        // The signature headers are redacted by name; their values are also secrets the
        // recording is checked against.
        let credentials = kept.headers.iter().filter(|(k, _)| CREDENTIAL_HEADERS.contains(&k.as_str())).map(|(_, v)| v.clone());
        tape.add_secrets(credentials.collect::<Vec<_>>());
        HttpConnectorFuture::new(async move {
            let mut answer = match inner.call(request).await {
                Ok(a) => a,
                Err(e) => {
                    tape.record(Exchange { request: kept, response: None, error: Some(e.to_string()) });
                    return Err(e);
                }
            };
            let status = answer.status().as_u16();
            let headers: Vec<(String, String)> = answer.headers().iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned())).collect();
            let bytes = match ByteStream::new(answer.take_body()).collect().await {
                Ok(b) => b.into_bytes(),
                Err(e) => {
                    let message = format!("reading the response failed: {e}");
                    let response = RecordedResponse { status, headers, body: None };
                    tape.record(Exchange { request: kept, response: Some(response), error: Some(message.clone()) });
                    return Err(error(message));
                }
            };
            let body = Body::of(&bytes);
            tape.record(Exchange { request: kept, response: Some(RecordedResponse { status, headers, body }), error: None });
            *answer.body_mut() = SdkBody::from(bytes);
            Ok(answer)
        })
    }
}
