//! The bridge between Castellan's [`Signer`] and the x509-cert builder: the builder
//! produces the TBS bytes, our signer signs them (software or HSM), the builder assembles.

use crate::signer::Signer;
use crate::{PkiError, Result};
use const_oid::AssociatedOid;
use der::{Encode, asn1::BitString, asn1::OctetString};
use spki::{AlgorithmIdentifierOwned, Document, DynSignatureAlgorithmIdentifier, EncodePublicKey};
use x509_cert::builder::Builder;
use x509_cert::ext::Extension;

/// The signer's public key, in the shape the builder asks for.
#[derive(Clone)]
pub(crate) struct SpkiBytes(Vec<u8>);

impl EncodePublicKey for SpkiBytes {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Document::try_from(self.0.as_slice()).map_err(spki::Error::from)
    }
}

/// Adapts a `&dyn Signer` to the builder's `Keypair + DynSignatureAlgorithmIdentifier`.
pub(crate) struct BuilderKey<'a>(pub &'a dyn Signer);

impl signature::Keypair for BuilderKey<'_> {
    type VerifyingKey = SpkiBytes;

    fn verifying_key(&self) -> SpkiBytes {
        SpkiBytes(self.0.spki_der().to_vec())
    }
}

impl DynSignatureAlgorithmIdentifier for BuilderKey<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.0.signature_algorithm())
    }
}

/// Finalises `builder`, lets `check` look at the TBS DER (the pre-issuance lints), signs
/// with `signer`, and assembles the result.
pub(crate) fn sign<B: Builder>(
    mut builder: B,
    signer: &dyn Signer,
    check: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<B::Output> {
    let key = BuilderKey(signer);
    let tbs = builder.finalize(&key).map_err(PkiError::encoding)?;
    check(&tbs)?;
    let signature = signer.sign(&tbs)?;
    let bits = BitString::from_bytes(&signature).map_err(PkiError::encoding)?;
    builder.assemble(bits, &key).map_err(PkiError::encoding)
}

/// Encodes a typed extension value into an [`Extension`].
pub(crate) fn extension<T: AssociatedOid + Encode>(critical: bool, value: &T) -> Result<Extension> {
    let der = value.to_der().map_err(PkiError::encoding)?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(der).map_err(PkiError::encoding)?,
    })
}
