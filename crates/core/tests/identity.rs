//! Agent tokens, signing keys and credentials: every kind of bad token is refused under its own
//! rule, rotation keeps old tokens valid to their expiry, the JWKS has the SPIFFE bundle shape,
//! and credentials are stored only as hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::Signature;
use rand_core::OsRng;
use warden_core::decision::rules;
use warden_core::governance::IdentityConfig;
use warden_core::identity::credential::{
    self, credential_hash, looks_like_credential, Credential, CredentialError, CredentialRecord,
};
use warden_core::identity::keys::{Jwk, KeySet, PublicKey, SigningKey};
use warden_core::identity::token::{
    check_not_revoked, sign, Audience, Claims, TokenError, TokenIssuer, TokenRequest,
    TokenVerifier, VerifyCache, WARDEN_AUDIENCE,
};

const TD: &str = "acme.dev";

fn now() -> Timestamp {
    "2026-11-27T10:00:00Z".parse().expect("timestamp")
}

fn at(offset_secs: i64) -> Timestamp {
    now() + SignedDuration::from_secs(offset_secs)
}

fn request<'a>(agent: &'a str, session: Option<&'a str>) -> TokenRequest<'a> {
    TokenRequest {
        agent,
        session,
        audience: WARDEN_AUDIENCE,
        ttl: None,
    }
}

fn issue(keys: &KeySet, agent: &str, session: Option<&str>) -> String {
    let config = IdentityConfig::default();
    TokenIssuer::new(TD, &config)
        .issue(&request(agent, session), keys.current(), now(), &mut OsRng)
        .expect("issue")
        .token
}

fn verifier() -> TokenVerifier {
    TokenVerifier::new(TD, WARDEN_AUDIENCE)
}

fn claims(sub: &str) -> Claims {
    Claims {
        sub: sub.into(),
        aud: Audience::One(WARDEN_AUDIENCE.into()),
        exp: at(900).as_second(),
        iat: now().as_second(),
        nbf: None,
        jti: "jti-1".into(),
        sid: None,
    }
}

/// A token with any header and claims, signed (ES256, low-S) with any P-256 key.
fn craft(header: &str, claims: &str, key: &p256::ecdsa::SigningKey) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature: Signature = key.sign(signed.as_bytes());
    let signature = signature.normalize_s().unwrap_or(signature);
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

fn refusal(token: &str, keys: &KeySet, when: Timestamp) -> TokenError {
    verifier()
        .verify(token, keys, when)
        .expect_err("the token should be refused")
}

#[test]
fn a_token_round_trips() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&keys, "claude-fixer", Some("ses_01"));
    let verified = verifier().verify(&token, &keys, at(60)).expect("verify");
    assert_eq!(verified.agent, "claude-fixer");
    assert_eq!(verified.session.as_deref(), Some("ses_01"));
    assert_eq!(verified.kid, keys.current().kid());
    assert_eq!(verified.issued_at, now());
    assert_eq!(verified.expires_at, at(15 * 60));
    assert!(!verified.jti.is_empty());

    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(&token)[0]).expect("b64"))
            .expect("json");
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "kid": keys.current().kid(), "typ": "JWT"})
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(&token)[1]).expect("b64"))
            .expect("json");
    assert_eq!(claims["sub"], "spiffe://acme.dev/agent/claude-fixer");
    assert_eq!(claims["aud"], WARDEN_AUDIENCE);
    assert_eq!(claims["sid"], "ses_01");
    let unscoped = issue(&keys, "claude-fixer", None);
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(&unscoped)[1]).expect("b64"))
            .expect("json");
    assert!(claims.get("sid").is_none());
}

#[test]
fn no_token_outlives_the_max_ttl() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let config = IdentityConfig::default();
    let issuer = TokenIssuer::new(TD, &config);
    let long = TokenRequest {
        ttl: Some(SignedDuration::from_hours(24)),
        ..request("a", None)
    };
    let issued = issuer
        .issue(&long, keys.current(), now(), &mut OsRng)
        .expect("issue");
    assert_eq!(issued.expires_at, at(3600));
    let zero = TokenRequest {
        ttl: Some(SignedDuration::ZERO),
        ..request("a", None)
    };
    assert!(issuer
        .issue(&zero, keys.current(), now(), &mut OsRng)
        .is_err());
    let bad_id = request("../admin", None);
    assert!(issuer
        .issue(&bad_id, keys.current(), now(), &mut OsRng)
        .is_err());
    let bad_td = TokenIssuer::new("Acme Dev", &config);
    assert!(bad_td
        .issue(&request("a", None), keys.current(), now(), &mut OsRng)
        .is_err());
}

#[test]
fn a_forged_signature_is_invalid() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let attacker = p256::ecdsa::SigningKey::random(&mut OsRng);
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#,
        keys.current().kid()
    );
    let claims =
        serde_json::to_string(&claims("spiffe://acme.dev/agent/claude-fixer")).expect("json");
    let forged = craft(&header, &claims, &attacker);
    let error = refusal(&forged, &keys, now());
    assert_eq!(error, TokenError::Signature);
    assert_eq!(error.rule().id, "identity.token-invalid");
}

#[test]
fn a_tampered_payload_is_invalid() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&keys, "claude-fixer", None);
    let p = parts(&token);
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&p[1]).expect("b64")).expect("json");
    claims["sub"] = "spiffe://acme.dev/agent/deployer".into();
    let tampered = format!(
        "{}.{}.{}",
        p[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        p[2]
    );
    assert_eq!(refusal(&tampered, &keys, now()), TokenError::Signature);

    // A tampered signature, and the other spelling of a valid one (P-256 is malleable).
    let mut signature = URL_SAFE_NO_PAD.decode(&p[2]).expect("b64");
    signature[10] ^= 1;
    let flipped = format!("{}.{}.{}", p[0], p[1], URL_SAFE_NO_PAD.encode(&signature));
    assert_eq!(refusal(&flipped, &keys, now()), TokenError::Signature);
    let low = Signature::from_slice(&URL_SAFE_NO_PAD.decode(&p[2]).expect("b64")).expect("sig");
    let (r, s) = low.split_scalars();
    let high = Signature::from_scalars(r, -*s).expect("sig");
    let malleated = format!(
        "{}.{}.{}",
        p[0],
        p[1],
        URL_SAFE_NO_PAD.encode(high.to_bytes())
    );
    assert_eq!(refusal(&malleated, &keys, now()), TokenError::Signature);
}

#[test]
fn an_unknown_kid_is_invalid() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let other = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&other, "claude-fixer", None);
    let error = refusal(&token, &keys, now());
    assert!(
        matches!(error, TokenError::UnknownKey(ref kid) if kid == other.current().kid()),
        "{error:?}"
    );
    assert_eq!(error.rule().id, "identity.token-invalid");

    let header = r#"{"alg":"ES256","typ":"JWT"}"#;
    let no_kid = craft(
        header,
        &serde_json::to_string(&claims("spiffe://acme.dev/agent/a")).expect("json"),
        &p256::ecdsa::SigningKey::random(&mut OsRng),
    );
    assert!(matches!(
        refusal(&no_kid, &keys, now()),
        TokenError::Malformed(_)
    ));
}

#[test]
fn an_expired_token_is_expired_without_skew() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&keys, "claude-fixer", None);
    assert!(verifier().verify(&token, &keys, at(15 * 60 - 1)).is_ok());
    let error = refusal(&token, &keys, at(15 * 60));
    assert_eq!(error, TokenError::Expired(at(15 * 60)));
    assert_eq!(error.rule().id, "identity.token-expired");
    assert_eq!(error.reason().rule, "identity.token-expired");
}

#[test]
fn iat_may_be_a_little_in_the_future() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&keys, "claude-fixer", None);
    // Our clock is 20 s behind the issuer's: within the skew.
    assert!(verifier().verify(&token, &keys, at(-20)).is_ok());
    let error = refusal(&token, &keys, at(-31));
    assert!(matches!(error, TokenError::NotYetValid(_)), "{error:?}");
    assert_eq!(error.rule().id, "identity.token-invalid");
    assert!(verifier()
        .with_skew(SignedDuration::from_secs(60))
        .verify(&token, &keys, at(-31))
        .is_ok());

    let key = keys.current();
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, key.kid());
    let mut future = claims("spiffe://acme.dev/agent/a");
    future.nbf = Some(at(120).as_second());
    let pem = key.to_pkcs8_pem().expect("pem");
    use p256::pkcs8::DecodePrivateKey as _;
    let raw = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).expect("key");
    let token = craft(
        &header,
        &serde_json::to_string(&future).expect("json"),
        &raw,
    );
    assert!(matches!(
        refusal(&token, &keys, now()),
        TokenError::NotYetValid(_)
    ));
    assert!(verifier().verify(&token, &keys, at(100)).is_ok());
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let config = IdentityConfig::default();
    let other = TokenRequest {
        audience: "some-other-service",
        ..request("claude-fixer", None)
    };
    let token = TokenIssuer::new(TD, &config)
        .issue(&other, keys.current(), now(), &mut OsRng)
        .expect("issue")
        .token;
    let error = refusal(&token, &keys, now());
    assert_eq!(error, TokenError::Audience(WARDEN_AUDIENCE.into()));
    assert_eq!(error.rule().id, "identity.token-audience");
    assert!(TokenVerifier::new(TD, "some-other-service")
        .verify(&token, &keys, now())
        .is_ok());
}

#[test]
fn aud_may_be_an_array_but_is_required() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let mut many = claims("spiffe://acme.dev/agent/a");
    many.aud = Audience::Many(vec!["x".into(), WARDEN_AUDIENCE.into()]);
    let token = sign(&many, keys.current()).expect("sign");
    assert!(verifier().verify(&token, &keys, now()).is_ok());

    many.aud = Audience::Many(vec![]);
    let token = sign(&many, keys.current()).expect("sign");
    assert!(matches!(
        refusal(&token, &keys, now()),
        TokenError::Audience(_)
    ));

    let mut json = serde_json::to_value(claims("spiffe://acme.dev/agent/a")).expect("json");
    json.as_object_mut().expect("object").remove("aud");
    let raw = raw_key(keys.current());
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, keys.current().kid());
    let token = craft(&header, &json.to_string(), &raw);
    assert!(matches!(
        refusal(&token, &keys, now()),
        TokenError::Malformed(_)
    ));
}

fn raw_key(key: &SigningKey) -> p256::ecdsa::SigningKey {
    use p256::pkcs8::DecodePrivateKey as _;
    p256::ecdsa::SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem().expect("pem")).expect("key")
}

#[test]
fn another_trust_domain_is_invalid() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    for sub in [
        "spiffe://evil.dev/agent/claude-fixer",
        "spiffe://acme.dev.evil.dev/agent/claude-fixer",
        "spiffe://acme.dev/agent/claude-fixer/extra",
        "spiffe://acme.dev/workload/claude-fixer",
        "spiffe://ACME.dev/agent/claude-fixer",
        "spiffe://acme.dev/agent/",
        "spiffe://acme.dev/agent/..",
        "claude-fixer",
    ] {
        let token = sign(&claims(sub), keys.current()).expect("sign");
        let error = refusal(&token, &keys, now());
        assert!(matches!(error, TokenError::Subject(..)), "{sub}: {error:?}");
        assert_eq!(error.rule().id, "identity.token-invalid");
    }
}

#[test]
fn alg_none_and_hs256_are_refused() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let kid = keys.current().kid().to_owned();
    let body = URL_SAFE_NO_PAD
        .encode(serde_json::to_string(&claims("spiffe://acme.dev/agent/a")).expect("json"));
    for alg in ["none", "HS256", "RS256", "ES384", "es256"] {
        let header =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#));
        for signature in ["", "c2lnbmF0dXJl"] {
            let token = format!("{header}.{body}.{signature}");
            let error = refusal(&token, &keys, now());
            assert_eq!(error, TokenError::Algorithm(alg.into()), "{alg}");
            assert_eq!(error.rule().id, "identity.token-invalid");
        }
    }
    // A header that asks for critical extensions is refused too.
    let token = craft(
        &format!(r#"{{"alg":"ES256","kid":"{kid}","crit":["exp"]}}"#),
        "{}",
        &raw_key(keys.current()),
    );
    assert!(matches!(
        refusal(&token, &keys, now()),
        TokenError::Malformed(_)
    ));
}

#[test]
fn garbage_is_malformed() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let good = issue(&keys, "a", None);
    let p = parts(&good);
    let long = "a".repeat(10_000);
    let cases = [
        String::new(),
        "not a token".into(),
        "a.b".into(),
        "a.b.c".into(),
        "....".into(),
        format!("{good}.extra"),
        format!("{}.{}", p[0], p[1]),
        format!("!!!.{}.{}", p[1], p[2]),
        format!("{}.{}=.{}", p[0], p[1], p[2]),
        format!("{}.e30.{}", URL_SAFE_NO_PAD.encode("[1,2]"), p[2]),
        long,
    ];
    for case in &cases {
        let error = refusal(case, &keys, now());
        assert_eq!(
            error.rule().id,
            "identity.token-invalid",
            "{case:.40}: {error:?}"
        );
    }
    // A signature of the wrong length, and claims that are not an object.
    assert_eq!(
        refusal(&format!("{}.{}.AAAA", p[0], p[1]), &keys, now()),
        TokenError::Signature
    );
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, keys.current().kid());
    let token = craft(&header, "[]", &raw_key(keys.current()));
    assert!(matches!(
        refusal(&token, &keys, now()),
        TokenError::Malformed(_)
    ));
    let token = craft(
        &header,
        r#"{"sub":"spiffe://acme.dev/agent/a","aud":"warden","exp":1.5e9,"iat":0,"jti":"j"}"#,
        &raw_key(keys.current()),
    );
    assert!(matches!(
        refusal(&token, &keys, now()),
        TokenError::Malformed(_)
    ));
}

#[test]
fn rotation_keeps_old_tokens_valid_until_they_expire() {
    let mut keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let old_kid = keys.current().kid().to_owned();
    let old_token = issue(&keys, "claude-fixer", None);

    let config = IdentityConfig::default();
    keys.rotate(
        SigningKey::generate(&mut OsRng),
        at(60),
        config.token_max_ttl,
    );
    assert_ne!(keys.current().kid(), old_kid);
    assert_eq!(keys.retired().len(), 1);

    // The old token still verifies with the retired key, to its own expiry.
    let verified = verifier()
        .verify(&old_token, &keys, at(600))
        .expect("old token");
    assert_eq!(verified.kid, old_kid);
    assert!(matches!(
        refusal(&old_token, &keys, at(15 * 60)),
        TokenError::Expired(_)
    ));

    // New tokens are signed with the new key.
    let config = IdentityConfig::default();
    let new = TokenIssuer::new(TD, &config)
        .issue(
            &request("claude-fixer", None),
            keys.current(),
            at(120),
            &mut OsRng,
        )
        .expect("issue");
    assert_eq!(
        verifier()
            .verify(&new.token, &keys, at(130))
            .expect("new")
            .kid,
        keys.current().kid()
    );

    // The JWKS lists both while the old key is kept, the current one first.
    let jwks = keys.jwks(at(600));
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(jwks.keys[0].kid, keys.current().kid());
    assert_eq!(jwks.keys[1].kid, old_kid);

    // After its keeping time the old key verifies nothing, pruned or not.
    let after = at(60 + 3600);
    assert!(keys.find(&old_kid, after).is_none());
    assert_eq!(keys.jwks(after).keys.len(), 1);
    assert_eq!(keys.prune(at(600)), 0);
    assert_eq!(keys.prune(after), 1);
    assert!(keys.retired().is_empty());
}

#[test]
fn the_jwks_is_a_spiffe_bundle() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let jwks = serde_json::to_value(keys.jwks(now())).expect("json");
    let key = &jwks["keys"][0];
    let mut fields: Vec<&str> = key
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["use"], "jwt-svid");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["kid"], keys.current().kid());
    for coordinate in ["x", "y"] {
        let text = key[coordinate].as_str().expect("string");
        assert_eq!(URL_SAFE_NO_PAD.decode(text).expect("base64url").len(), 32);
    }
    assert!(jwks.get("spiffe_refresh_hint").is_none());

    // The kid is the RFC 7638 thumbprint of the JWK.
    let required = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        key["x"].as_str().expect("x"),
        key["y"].as_str().expect("y")
    );
    let thumbprint =
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(required.as_bytes()));
    assert_eq!(key["kid"], thumbprint.as_str());

    // The JWK reads back as the same public key, and verifies the key's tokens.
    let jwk: Jwk = serde_json::from_value(key.clone()).expect("jwk");
    let public = PublicKey::from_jwk(&jwk).expect("from jwk");
    assert_eq!(public, keys.current().public());
    let mut bad = jwk.clone();
    bad.key_use = "x509-svid".into();
    assert!(PublicKey::from_jwk(&bad).is_err());
    let mut bad = jwk;
    bad.y = bad.x.clone();
    assert!(PublicKey::from_jwk(&bad).is_err());
}

#[test]
fn keys_survive_pem() {
    let key = SigningKey::generate(&mut OsRng);
    let pem = key.to_pkcs8_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = SigningKey::from_pkcs8_pem(&pem).expect("read");
    assert_eq!(back.kid(), key.kid());
    let public = key.public().to_public_key_pem().expect("pem");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(
        PublicKey::from_public_key_pem(&public).expect("read"),
        key.public()
    );
    assert!(SigningKey::from_pkcs8_pem(&public).is_err());
    assert!(SigningKey::from_pkcs8_pem("garbage").is_err());
    assert!(!format!("{key:?}").contains("PRIVATE"));

    // A key set rebuilt from storage verifies what the original signed.
    let mut keys = KeySet::new(key);
    let token = issue(&keys, "a", None);
    keys.rotate(
        SigningKey::generate(&mut OsRng),
        now(),
        SignedDuration::from_hours(1),
    );
    let stored = keys.retired().to_vec();
    let current =
        SigningKey::from_pkcs8_pem(&keys.current().to_pkcs8_pem().expect("pem")).expect("read");
    let rebuilt = KeySet::with_retired(current, stored);
    assert!(verifier().verify(&token, &rebuilt, at(1)).is_ok());
}

#[test]
fn the_cache_answers_only_until_expiry() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&keys, "claude-fixer", Some("ses_1"));
    let mut cache = VerifyCache::new(16);
    let first = verifier()
        .verify_cached(&token, &keys, &mut cache, at(1))
        .expect("verify");
    assert_eq!(cache.len(), 1);
    let hit = verifier()
        .verify_cached(&token, &keys, &mut cache, at(2))
        .expect("hit");
    assert_eq!(hit, first);
    let error = verifier()
        .verify_cached(&token, &keys, &mut cache, at(15 * 60))
        .expect_err("expired");
    assert!(matches!(error, TokenError::Expired(_)));
    assert!(cache.is_empty());

    // Another verifier sharing the cache gets its own answer.
    verifier()
        .verify_cached(&token, &keys, &mut cache, at(1))
        .expect("verify");
    let other = TokenVerifier::new(TD, "another-audience");
    assert!(matches!(
        other.verify_cached(&token, &keys, &mut cache, at(1)),
        Err(TokenError::Audience(_))
    ));

    // A key withdrawn from the set is not vouched for by the cache.
    let replaced = KeySet::new(SigningKey::generate(&mut OsRng));
    assert!(matches!(
        verifier().verify_cached(&token, &replaced, &mut cache, at(3)),
        Err(TokenError::UnknownKey(_))
    ));

    // Bounded.
    let mut small = VerifyCache::new(2);
    for i in 0..5 {
        let token = issue(&keys, &format!("agent-{i}"), None);
        verifier()
            .verify_cached(&token, &keys, &mut small, at(1))
            .expect("verify");
        assert!(small.len() <= 2);
    }
}

#[test]
fn a_token_issued_before_rotation_is_revoked() {
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let token = issue(&keys, "claude-fixer", None);
    let verified = verifier().verify(&token, &keys, at(5)).expect("verify");
    assert_eq!(check_not_revoked(&verified, None), Ok(()));
    assert_eq!(check_not_revoked(&verified, Some(at(-10))), Ok(()));
    assert_eq!(check_not_revoked(&verified, Some(now())), Ok(()));
    let error = check_not_revoked(&verified, Some(at(3))).expect_err("revoked");
    assert_eq!(error.rule().id, "identity.token-revoked");
    // Within the same second: refused (the issue time is rounded down).
    let half = now() + SignedDuration::from_millis(500);
    assert!(check_not_revoked(&verified, Some(half)).is_err());
}

#[test]
fn every_refusal_maps_to_a_published_rule() {
    let errors = [
        TokenError::Malformed("x"),
        TokenError::Algorithm("none".into()),
        TokenError::UnknownKey("k".into()),
        TokenError::Signature,
        TokenError::Subject("s".into(), TD.into()),
        TokenError::NotYetValid(now()),
        TokenError::Expired(now()),
        TokenError::Audience("a".into()),
        TokenError::Revoked {
            issued_at: now(),
            revoked_at: now(),
        },
    ];
    for error in errors {
        let rule = error.rule();
        assert!(
            rules::ALL.iter().any(|r| std::ptr::eq(*r, rule)),
            "{}",
            rule.id
        );
        assert!(rule.id.starts_with("identity.token-"));
        let message = error.to_string();
        assert!(
            !message.ends_with('.') && message.starts_with(|c: char| c.is_lowercase()),
            "{message}"
        );
    }
}

#[test]
fn a_credential_has_its_shape_and_is_kept_as_a_hash() {
    let config = IdentityConfig::default();
    let (credential, record) = credential::issue("claude-fixer", now(), &config, &mut OsRng);
    let text = credential.expose();
    assert!(text.starts_with("wdn_claude-fixer_"), "{text}");
    assert_eq!(text.len(), "wdn_claude-fixer_".len() + 52);
    assert!(looks_like_credential(text));
    assert!(!format!("{credential:?}").contains(&text[4..]));
    assert_eq!(record.agent, "claude-fixer");
    assert_eq!(record.hash, credential_hash(text));
    assert_eq!(record.hash.len(), 64);
    assert!(!serde_json::to_string(&record).expect("json").contains(text));

    let again = Credential::generate("claude-fixer", &mut OsRng);
    assert_ne!(again, credential);
    let odd = Credential::generate("Claude_Fixer[bot]-with-a-long-name", &mut OsRng);
    assert!(
        odd.expose().starts_with("wdn_claude-fixer-bot_"),
        "{}",
        odd.expose()
    );
    assert!(looks_like_credential(odd.expose()));
    assert!(!looks_like_credential("wdn_a_short"));
    assert!(!looks_like_credential(&issue(
        &KeySet::new(SigningKey::generate(&mut OsRng)),
        "a",
        None
    )));
}

#[test]
fn a_credential_is_checked_in_full_and_expires() {
    let config = IdentityConfig::default();
    let (credential, record) = credential::issue("claude-fixer", now(), &config, &mut OsRng);
    assert_eq!(record.issued_at, now());
    assert_eq!(
        record.expires_at,
        now() + SignedDuration::from_hours(90 * 24)
    );
    assert!(record.matches(credential.expose()));
    assert_eq!(record.check(credential.expose(), at(1)), Ok(()));

    let mut wrong = credential.expose().to_owned();
    let last = wrong.pop();
    wrong.push(if last == Some('a') { 'b' } else { 'a' });
    assert!(!record.matches(&wrong));
    assert_eq!(
        record.check("wdn_claude-fixer_nope", at(1)),
        Err(CredentialError::Mismatch)
    );
    assert_eq!(record.check("", at(1)), Err(CredentialError::Mismatch));

    assert!(record.is_valid(record.expires_at - SignedDuration::from_secs(1)));
    assert!(!record.is_valid(record.expires_at));
    assert_eq!(
        record.check(credential.expose(), record.expires_at),
        Err(CredentialError::Expired(record.expires_at))
    );

    let corrupt = CredentialRecord {
        hash: "not hex".into(),
        ..record
    };
    assert!(!corrupt.matches(credential.expose()));
}
