#include "core/backup/cms.h"

#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace siq::backup {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free_all(bio); }
};
struct CmsFree {
  void operator()(CMS_ContentInfo* cms) const { CMS_ContentInfo_free(cms); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertStackFree {
  void operator()(STACK_OF(X509) * certs) const {
    sk_X509_pop_free(certs, X509_free);
  }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueCms = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;
using UniqueKey = std::unique_ptr<EVP_PKEY, KeyFree>;
using UniqueCerts = std::unique_ptr<STACK_OF(X509), CertStackFree>;

// OpenSSL's reason for the last failure, and an empty error queue after.
std::string OpenSslReason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  ERR_clear_error();
  return reason == nullptr ? "no reason given" : reason;
}

Status Internal(std::string_view what) {
  return Status(StatusCode::kInternal,
                fmt::format("{}: {}", what, OpenSslReason()));
}

// Never prompts: siq reads only unencrypted keys, and a prompt from inside
// OpenSSL would bypass siq's own terminal handling.
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void*) {
  return -1;
}

Result<UniqueX509> ReadCertificate(const std::string& path) {
  UniqueBio file(BIO_new_file(path.c_str(), "r"));
  if (!file) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: cannot read the certificate: {}", path,
                              OpenSslReason()));
  }
  UniqueX509 cert(
      PEM_read_bio_X509(file.get(), nullptr, NoPassphrase, nullptr));
  if (!cert) {
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("{}: not a PEM certificate: {}", path, OpenSslReason()));
  }
  return cert;
}

Result<UniqueKey> ReadPrivateKey(const std::string& path) {
  UniqueBio file(BIO_new_file(path.c_str(), "r"));
  if (!file) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: cannot read the private key: {}", path,
                              OpenSslReason()));
  }
  UniqueKey key(
      PEM_read_bio_PrivateKey(file.get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: not an unencrypted PEM private key: {}",
                              path, OpenSslReason()));
  }
  return key;
}

UniqueBio MemoryOf(std::string_view bytes) {
  return UniqueBio(
      BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string Drain(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

Result<std::string> WriteSmime(CMS_ContentInfo* cms) {
  UniqueBio out(BIO_new(BIO_s_mem()));
  if (!out || SMIME_write_CMS(out.get(), cms, nullptr, CMS_BINARY) != 1) {
    return Internal("writing the sealed bundle");
  }
  return Drain(out.get());
}

}  // namespace

Result<std::string> SealToCertificates(
    std::string_view plain,
    const std::vector<std::string>& certificate_paths) {
  if (certificate_paths.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "sealing a bundle: no recipient certificate given");
  }
  UniqueCerts certs(sk_X509_new_null());
  for (const std::string& path : certificate_paths) {
    auto cert = ReadCertificate(path);
    if (!cert.ok()) {
      return cert.status();
    }
    if (sk_X509_push(certs.get(), cert->get()) == 0) {
      return Internal("collecting the certificates");
    }
    (void)cert->release();  // the stack owns it now
  }

  UniqueBio in = MemoryOf(plain);
  UniqueCms cms(
      CMS_encrypt(certs.get(), in.get(), EVP_aes_256_gcm(), CMS_BINARY));
  if (!cms) {
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("sealing a bundle to {}: {}",
                    fmt::join(certificate_paths, ", "), OpenSslReason()));
  }
  return WriteSmime(cms.get());
}

Result<std::string> SealWithPassphrase(std::string_view plain,
                                       const SecretBytes& passphrase) {
  if (passphrase.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "sealing a bundle: the passphrase is empty");
  }
  UniqueBio in = MemoryOf(plain);
  UniqueCms cms(CMS_encrypt(nullptr, in.get(), EVP_aes_256_gcm(),
                            CMS_BINARY | CMS_PARTIAL));
  if (!cms) {
    return Internal("sealing a bundle");
  }
  // The recipient info takes ownership of its copy and wipes it when freed
  // (OPENSSL_clear_free), so it gets one of its own.
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(passphrase.size()));
  if (copy == nullptr) {
    return Internal("sealing a bundle");
  }
  std::memcpy(copy, passphrase.Reveal().data(), passphrase.size());
  // GCM cannot wrap a key; PWRI's key wrap is RFC 3211's, over AES-256-CBC.
  CMS_RecipientInfo* info = CMS_add0_recipient_password(
      cms.get(), kPassphraseIterations, NID_undef, NID_hmacWithSHA256, copy,
      static_cast<ossl_ssize_t>(passphrase.size()), EVP_aes_256_cbc());
  if (info == nullptr) {
    OPENSSL_clear_free(copy, passphrase.size());
    return Internal("sealing a bundle to a passphrase");
  }
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1) {
    return Internal("sealing a bundle to a passphrase");
  }
  return WriteSmime(cms.get());
}

Result<std::string> Open(std::string_view sealed,
                         const OpeningKey& key,
                         std::string_view name) {
  UniqueBio in = MemoryOf(sealed);
  UniqueCms cms(SMIME_read_CMS(in.get(), nullptr));
  if (!cms) {
    return Status(StatusCode::kCorrupt,
                  fmt::format("{}: not a sealed siq bundle (S/MIME CMS): {}",
                              name, OpenSslReason()));
  }
  // Only the authenticated envelope: an unauthenticated one could have been
  // changed on the way without anyone noticing.
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) !=
      NID_id_smime_ct_authEnvelopedData) {
    return Status(StatusCode::kCorrupt,
                  fmt::format("{}: not CMS AuthEnvelopedData; siq seals every "
                              "bundle with AES-256-GCM",
                              name));
  }

  UniqueBio out(BIO_new(BIO_s_mem()));
  int opened = 0;
  if (!key.key_path.empty()) {
    auto private_key = ReadPrivateKey(key.key_path);
    if (!private_key.ok()) {
      return private_key.status();
    }
    UniqueX509 cert;
    if (!key.certificate_path.empty()) {
      auto read = ReadCertificate(key.certificate_path);
      if (!read.ok()) {
        return read.status();
      }
      cert = std::move(*read);
    }
    opened = CMS_decrypt(cms.get(), private_key->get(), cert.get(), nullptr,
                         out.get(), CMS_BINARY);
  } else {
    if (key.passphrase.empty()) {
      return Status(
          StatusCode::kInvalidArgument,
          fmt::format("{}: no key and no passphrase to open it", name));
    }
    // set1 borrows the bytes for this call only; nothing keeps them.
    auto* bytes = reinterpret_cast<unsigned char*>(
        const_cast<char*>(key.passphrase.Reveal().data()));
    opened = CMS_decrypt_set1_password(
                 cms.get(), bytes,
                 static_cast<ossl_ssize_t>(key.passphrase.size())) == 1 &&
             CMS_decrypt(cms.get(), nullptr, nullptr, nullptr, out.get(),
                         CMS_BINARY) == 1;
  }
  if (opened != 1) {
    return Status(
        StatusCode::kCorrupt,
        fmt::format("{}: cannot open it: the {} does not fit, or the bundle "
                    "was altered ({})",
                    name, key.key_path.empty() ? "passphrase" : "key",
                    OpenSslReason()));
  }
  return Drain(out.get());
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  std::string hex;
  hex.reserve(static_cast<size_t>(length) * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += fmt::format("{:02x}", digest[i]);
  }
  return hex;
}

}  // namespace siq::backup
