//! Credentials: how they are generated, recognised, shown and hashed.
//!
//! Every credential tokend hands out has the shape `<prefix><body><checksum>`:
//!
//! | credential | prefix | random bits | example length |
//! |---|---|---|---|
//! | client id | `tkc_` | 128 | 32 |
//! | client secret | `tks_` | 256 | 53 |
//! | bearer token | `tkb_` | 256 | 53 |
//! | admin session | `tka_` | 256 | 53 |
//!
//! The body is the random value in base62 (fixed width), the checksum is the CRC-32 of
//! prefix and body, in base62, six characters. The prefix lets secret scanners recognise a
//! leaked tokend credential; the checksum lets tokend reject a mistyped one before spending an
//! argon2 verify or a database lookup on it (GitHub's token formats work the same way).

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::error::CoreError;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM_LEN: usize = 6;

/// One credential format: a prefix and a number of random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenFormat {
    prefix: &'static str,
    random_bytes: usize,
}

impl TokenFormat {
    /// OAuth2 client ids: public, but unguessable so they cannot be enumerated.
    pub const CLIENT_ID: TokenFormat = TokenFormat { prefix: "tkc_", random_bytes: 16 };
    /// OAuth2 client secrets, shown once.
    pub const CLIENT_SECRET: TokenFormat = TokenFormat { prefix: "tks_", random_bytes: 32 };
    /// Bearer tokens issued by `/oauth/token`.
    pub const BEARER: TokenFormat = TokenFormat { prefix: "tkb_", random_bytes: 32 };
    /// Admin API session tokens.
    pub const SESSION: TokenFormat = TokenFormat { prefix: "tka_", random_bytes: 32 };

    /// The fixed prefix.
    pub const fn prefix(&self) -> &'static str {
        self.prefix
    }

    fn body_len(&self) -> usize {
        // ceil(bits / log2(62)); log2(62) ≈ 5.954
        (self.random_bytes * 8 * 1000).div_ceil(5954)
    }

    /// The total length of a credential of this format.
    pub fn len(&self) -> usize {
        self.prefix.len() + self.body_len() + CHECKSUM_LEN
    }

    /// Never empty; present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A fresh credential from the operating system's CSPRNG.
    pub fn generate(&self) -> Result<String, CoreError> {
        let mut bytes = vec![0u8; self.random_bytes];
        getrandom::fill(&mut bytes).map_err(|_| CoreError::RandomnessUnavailable)?;
        let mut out = String::with_capacity(self.len());
        out.push_str(self.prefix);
        out.push_str(&base62_fixed(&bytes, self.body_len()));
        let checksum = crc32fast::hash(out.as_bytes());
        out.push_str(&base62_fixed(&checksum.to_be_bytes(), CHECKSUM_LEN));
        Ok(out)
    }

    /// Whether `candidate` has this format's prefix, length, alphabet and a correct checksum.
    /// Cheap: no hashing, no I/O.
    pub fn is_well_formed(&self, candidate: &str) -> bool {
        if candidate.len() != self.len() || !candidate.starts_with(self.prefix) {
            return false;
        }
        let rest = &candidate[self.prefix.len()..];
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        let (head, checksum) = candidate.split_at(candidate.len() - CHECKSUM_LEN);
        let expected = base62_fixed(&crc32fast::hash(head.as_bytes()).to_be_bytes(), CHECKSUM_LEN);
        checksum == expected
    }
}

/// Big-endian bytes as base62, left-padded with '0' to exactly `width` characters.
fn base62_fixed(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while digits.len() < width {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        digits.push(BASE62[remainder as usize]);
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// The public OAuth2 client identifier of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// A fresh random client id.
    pub fn generate() -> Result<Self, CoreError> {
        TokenFormat::CLIENT_ID.generate().map(Self)
    }

    /// Accepts a presented client id if it is well formed (prefix, length, checksum).
    pub fn parse(raw: &str) -> Option<Self> {
        TokenFormat::CLIENT_ID.is_well_formed(raw).then(|| Self(raw.to_owned()))
    }

    /// Wraps a value read back from storage, where it was validated on the way in.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! plaintext_secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// It has no `Display`, and its `Debug` prints only the type name, so it cannot end up
        /// in a log line or an error message by accident.
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The plaintext, for the one place that must show or hash it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

plaintext_secret!(
    /// The plaintext OAuth2 client secret of an access token: shown once, then only its hash
    /// exists.
    ClientSecret
);
plaintext_secret!(
    /// An admin session token (`tka_…`), returned once at login.
    SessionToken
);
plaintext_secret!(
    /// An account's plaintext password, as typed at login or account creation.
    Password
);

impl ClientSecret {
    /// A fresh secret with 256 random bits.
    pub fn generate() -> Result<Self, CoreError> {
        TokenFormat::CLIENT_SECRET.generate().map(Self)
    }

    /// Accepts a presented secret if it is well formed; a typo fails here, before any hashing.
    pub fn parse(raw: &str) -> Option<Self> {
        TokenFormat::CLIENT_SECRET.is_well_formed(raw).then(|| Self(raw.to_owned()))
    }
}

impl SessionToken {
    /// A fresh session token with 256 random bits.
    pub fn generate() -> Result<Self, CoreError> {
        TokenFormat::SESSION.generate().map(Self)
    }
}

impl Password {
    /// Shortest password accepted when an account is created.
    pub const MIN_LEN: usize = 12;
    /// Longest password accepted; bounds the work of hashing.
    pub const MAX_LEN: usize = 256;

    /// A password as presented at login: not checked for strength, only bounded.
    pub fn presented(raw: &str) -> Self {
        Self(raw.chars().take(Self::MAX_LEN).collect())
    }

    /// A new password, checked for length.
    pub fn new(raw: &str) -> Result<Self, CoreError> {
        let n_chars = raw.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&n_chars) {
            return Err(CoreError::invalid(
                "password",
                format!("must be {} to {} characters long", Self::MIN_LEN, Self::MAX_LEN),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A random password (for the bootstrap administrator), 24 base62 characters.
    pub fn generate() -> Result<Self, CoreError> {
        let mut bytes = [0u8; 18];
        getrandom::fill(&mut bytes).map_err(|_| CoreError::RandomnessUnavailable)?;
        Ok(Self(base62_fixed(&bytes, 24)))
    }
}

/// An argon2id PHC string: what is stored in place of a client secret or a password.
///
/// Its `Debug` is redacted too: a hash is not a secret in the cryptographic sense, but it is
/// offline-attack material and has no business in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    /// Wraps a PHC string read back from storage.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    /// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

impl HashParams {
    /// Cheap parameters for tests only: a real deployment keeps the defaults.
    pub const fn insecure_for_tests() -> Self {
        Self { memory_kib: 64, iterations: 1, parallelism: 1 }
    }
}

/// Hashes and verifies secrets and passwords with argon2id.
#[derive(Clone)]
pub struct SecretHasher {
    argon2: Argon2<'static>,
    /// A hash of a random value, verified against when the real hash is missing (unknown client
    /// id, unknown email) so that the answer takes as long either way.
    decoy: SecretHash,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHasher").field("params", self.argon2.params()).finish_non_exhaustive()
    }
}

impl SecretHasher {
    /// A hasher with the given cost parameters.
    pub fn new(params: HashParams) -> Result<Self, CoreError> {
        let params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| CoreError::invalid("argon2", e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Self { argon2, decoy: SecretHash(String::new()) };
        let decoy_secret = ClientSecret::generate()?;
        hasher.decoy = hasher.hash(decoy_secret.expose())?;
        Ok(hasher)
    }

    /// Hashes a client secret for storage.
    pub fn hash_secret(&self, secret: &ClientSecret) -> Result<SecretHash, CoreError> {
        self.hash(secret.expose())
    }

    /// Hashes a password for storage.
    pub fn hash_password(&self, password: &Password) -> Result<SecretHash, CoreError> {
        self.hash(password.expose())
    }

    fn hash(&self, plaintext: &str) -> Result<SecretHash, CoreError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|_| CoreError::RandomnessUnavailable)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| CoreError::RandomnessUnavailable)?;
        let phc = self
            .argon2
            .hash_password(plaintext.as_bytes(), &salt)
            .map_err(|e| CoreError::invalid("argon2", e.to_string()))?;
        Ok(SecretHash(phc.to_string()))
    }

    /// Whether `plaintext` matches `hash`. With `None` it verifies against a decoy and answers
    /// `false`, taking the same time as a wrong secret.
    pub fn verify(&self, hash: Option<&SecretHash>, plaintext: &str) -> bool {
        let (phc, real) = match hash {
            Some(hash) => (hash.as_phc(), true),
            None => (self.decoy.as_phc(), false),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let matches = self.argon2.verify_password(plaintext.as_bytes(), &parsed).is_ok();
        matches && real
    }
}

/// Working memory for one argon2 verification, reused from one verification to the next so
/// that a burst of verifications does not leave the allocator holding 19 MiB per thread.
#[derive(Default)]
pub struct VerifyMemory(Vec<argon2::Block>);

impl fmt::Debug for VerifyMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyMemory({} KiB)", self.0.len())
    }
}

impl SecretHasher {
    /// [`SecretHasher::verify`], computing in `memory` instead of a fresh allocation.
    pub fn verify_in(&self, hash: Option<&SecretHash>, plaintext: &str, memory: &mut VerifyMemory) -> bool {
        let real = hash.is_some();
        let phc = hash.unwrap_or(&self.decoy).as_phc();
        let matches = verify_phc_in(phc, plaintext.as_bytes(), &mut memory.0).unwrap_or(false);
        matches && real
    }
}

fn verify_phc_in(phc: &str, plaintext: &[u8], memory: &mut Vec<argon2::Block>) -> Option<bool> {
    use subtle::ConstantTimeEq;
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed.version.map_or(Some(Version::V0x13), |v| Version::try_from(v).ok())?;
    let params = Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(plaintext, salt, &mut out, memory.as_mut_slice())
        .ok()?;
    Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

/// The SHA-256 of a high-entropy credential (bearer or session token): enough, since such a
/// token cannot be guessed, and fast enough to run on every request.
pub fn fast_hash(credential: &str) -> [u8; 32] {
    Sha256::digest(credential.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_are_well_formed_and_distinct() {
        for format in [TokenFormat::CLIENT_ID, TokenFormat::CLIENT_SECRET, TokenFormat::BEARER, TokenFormat::SESSION] {
            let a = format.generate().unwrap();
            let b = format.generate().unwrap();
            assert_ne!(a, b);
            assert_eq!(a.len(), format.len());
            assert!(a.starts_with(format.prefix()));
            assert!(format.is_well_formed(&a), "{a}");
        }
    }

    #[test]
    fn secrets_carry_at_least_256_random_bits() {
        assert_eq!(TokenFormat::CLIENT_SECRET.random_bytes * 8, 256);
        assert_eq!(TokenFormat::BEARER.random_bytes * 8, 256);
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let secret = TokenFormat::CLIENT_SECRET.generate().unwrap();
        let mut typo = secret.clone().into_bytes();
        let i = 10;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert!(!TokenFormat::CLIENT_SECRET.is_well_formed(&typo));
        assert!(ClientSecret::parse(&typo).is_none());
    }

    #[test]
    fn a_credential_of_another_kind_is_rejected() {
        let bearer = TokenFormat::BEARER.generate().unwrap();
        assert!(ClientSecret::parse(&bearer).is_none());
        assert!(ClientId::parse("tkc_short").is_none());
        assert!(ClientId::parse("").is_none());
    }

    #[test]
    fn secrets_never_print_themselves() {
        let secret = ClientSecret::generate().unwrap();
        assert_eq!(format!("{secret:?}"), "ClientSecret(<redacted>)");
        let password = Password::new("correct horse battery staple").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn hashing_uses_argon2id_phc_and_verifies() {
        let hasher = SecretHasher::new(HashParams::insecure_for_tests()).unwrap();
        let secret = ClientSecret::generate().unwrap();
        let hash = hasher.hash_secret(&secret).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$"));
        assert!(!hash.as_phc().contains(secret.expose()));
        assert!(!format!("{hash:?}").contains("argon2"));
        assert!(hasher.verify(Some(&hash), secret.expose()));
        assert!(!hasher.verify(Some(&hash), ClientSecret::generate().unwrap().expose()));
        assert!(!hasher.verify(None, secret.expose()));
    }

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_plain_verify() {
        let hasher = SecretHasher::new(HashParams::insecure_for_tests()).unwrap();
        let secret = ClientSecret::generate().unwrap();
        let hash = hasher.hash_secret(&secret).unwrap();
        let mut memory = VerifyMemory::default();
        for _ in 0..2 {
            assert!(hasher.verify_in(Some(&hash), secret.expose(), &mut memory));
            assert!(!hasher.verify_in(Some(&hash), "tks_wrong", &mut memory));
            assert!(!hasher.verify_in(None, secret.expose(), &mut memory));
        }
        let other = SecretHasher::new(HashParams { memory_kib: 128, ..HashParams::insecure_for_tests() }).unwrap();
        assert!(other.verify_in(Some(&hash), secret.expose(), &mut memory), "parameters come from the PHC string");
    }

    #[test]
    fn default_parameters_are_owasps() {
        let params = HashParams::default();
        assert_eq!((params.memory_kib, params.iterations, params.parallelism), (19_456, 2, 1));
    }

    #[test]
    fn passwords_are_bounded() {
        assert!(Password::new("short").is_err());
        assert!(Password::new(&"x".repeat(300)).is_err());
        assert!(Password::new("twelve chars").is_ok());
        assert_eq!(Password::generate().unwrap().expose().len(), 24);
    }
}
