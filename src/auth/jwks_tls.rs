//! The TLS client for an `https://` `auth.jwks_url` (contract §10.3): rustls on its `ring`
//! provider, trusting either the system's root certificates or, when `auth.jwks_ca_file` is set,
//! only the CA certificates in that PEM file (an identity provider behind a private CA). Built
//! once at start: a missing or empty CA file stops start-up with the reason.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The client configuration JWKS fetches use.
pub fn client_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let roots = if ca_file.is_empty() {
        system_roots()?
    } else {
        file_roots(Path::new(ca_file)).map_err(|e| format!("auth.jwks_ca_file: {e}"))?
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The CA certificates of a PEM file; at least one.
fn file_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(roots)
}

/// The operating system's trusted roots (those it can parse).
fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(format!(
            "no system root certificates could be loaded for an https auth.jwks_url ({:?}); set auth.jwks_ca_file",
            found.errors
        ));
    }
    Ok(roots)
}
