//! `SSL_GET`: `HTTP_GET` over TLS (tokio-rustls, ring).
//!
//! Certificates are **not verified**, as in keepalived, whose SSL_GET does
//! not verify the peer unless told to: a health check asks "does this real
//! server answer correctly over TLS", and real servers behind a balancer
//! commonly carry the public name's certificate (or a self-signed one), not
//! one for their private address. The handshake itself must complete —
//! protocol version, cipher suite and the server's signature over the
//! handshake are checked by rustls — so a server whose TLS stack is broken
//! fails the check. With `enable_sni` the virtual host is sent as server
//! name; otherwise no SNI is sent (rustls sends none for an IP address).
//!
//! Owns the TLS layer; the HTTP exchange is http.rs's, the connection
//! tcp.rs's.

use std::sync::{Arc, LazyLock};

use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::http::Prepared;
use super::outcome::CheckError;
use super::spec::{CheckerSpec, HttpGet};

/// Accepts any certificate chain but still checks the handshake signature,
/// so the peer must hold the private key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// One client configuration for every SSL_GET: building it is not free and
/// nothing in it depends on the checker.
static CONNECTOR: LazyLock<Result<TlsConnector, String>> = LazyLock::new(|| {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let config = ClientConfig::builder_with_provider(Arc::<CryptoProvider>::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert { algorithms }))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
});

/// Run every URL of an `SSL_GET` against the checker's target.
pub async fn probe(spec: &CheckerSpec, get: &HttpGet) -> Result<(), CheckError> {
    probe_prepared(spec, get, &Prepared::new(spec, get, 443, true)).await
}

/// [`probe`] with the request heads built beforehand (see [`Prepared`]).
pub async fn probe_prepared(
    spec: &CheckerSpec,
    get: &HttpGet,
    prepared: &Prepared,
) -> Result<(), CheckError> {
    let connector = match &*CONNECTOR {
        Ok(c) => c.clone(),
        Err(e) => return Err(CheckError::Tls(std::io::Error::other(e.clone()))),
    };
    super::http::for_each_url(spec, get, prepared, |url, head| {
        let connector = connector.clone();
        async move {
            let name = match (
                get.enable_sni,
                url.virtualhost.as_ref().or(get.virtualhost.as_ref()),
            ) {
                (true, Some(vh)) => ServerName::try_from(vh.clone())
                    .map_err(|_| CheckError::ServerName(vh.clone()))?,
                _ => ServerName::IpAddress(spec.target.ip().into()),
            };
            let tcp = super::tcp::connect(spec).await?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(CheckError::Tls)?;
            super::http::get_url(TokioIo::new(tls), get, url, head).await
        }
    })
    .await
}
