//! Packages round-trip, refuse the wrong key, tampering and truncation with precise errors,
//! carry the manifest the law asks for, and are plain age + tar underneath.

use std::io::Read;
use std::path::{Path, PathBuf};

use medinfra_package::{
    DatasetRef, FORMAT, Identity, InputFile, NOTICE_EN, NOTICE_JA, PackageError, PackageMeta,
    Recipient, open_package, verify_package, write_package, write_package_file,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn meta() -> PackageMeta {
    PackageMeta {
        project: "diabetes-2026".into(),
        producer: "medinfra test producer".into(),
        recipient: Recipient {
            organization: "pharma-b".into(),
            user: "alice".into(),
            authorization_number: "MHLW-I-0042".into(),
            authorization_kind: "type_i".into(),
            public_key: "ignored".into(),
        },
        expires: "2027-03-31".into(),
        datasets: vec![
            DatasetRef {
                dataset: "claims-pseudo".into(),
                version: 3,
                tier: "pseudonymized".into(),
                manifest_sha256: "ab".repeat(32),
                step: "pseudonymize".into(),
            },
            DatasetRef {
                dataset: "labs-pseudo".into(),
                version: 1,
                tier: "pseudonymized".into(),
                manifest_sha256: "cd".repeat(32),
                step: "pseudonymize".into(),
            },
        ],
    }
}

/// Files with deterministic pseudo-random content (incompressible, crossing age's 64 KiB
/// chunks).
fn make_files(dir: &Path, sizes: &[(usize, u64)]) -> Vec<InputFile> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &(size, seed))| {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let source = dir.join(format!("src-{i}.parquet"));
            std::fs::write(&source, &bytes).unwrap();
            let (dataset, version) = if i % 2 == 0 {
                ("claims-pseudo", 3)
            } else {
                ("labs-pseudo", 1)
            };
            InputFile {
                source,
                dataset: dataset.into(),
                version,
                path: format!("t{}/part-{i:05}.parquet", i % 3),
                expected_sha256: Some(hex::encode(Sha256::digest(&bytes))),
                expected_bytes: Some(size as u64),
            }
        })
        .collect()
}

fn package(dir: &Path, files: &[InputFile], id: &Identity) -> PathBuf {
    let out = dir.join("extract.age");
    write_package_file(&meta(), files, &id.recipient(), &out).unwrap();
    out
}

#[test]
fn round_trip_unpacks_every_file_with_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_files(dir.path(), &[(0, 1), (100, 2), (200_000, 3), (65_536, 4)]);
    let id = Identity::generate();
    let pkg = package(dir.path(), &files, &id);
    // Encrypted: no input's bytes appear in the package.
    let sealed = std::fs::read(&pkg).unwrap();
    let big = std::fs::read(&files[2].source).unwrap();
    assert!(!sealed.windows(64).any(|w| w == &big[1000..1064]));
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"));

    let out = dir.path().join("opened");
    let m = open_package(&pkg, &id, &out).unwrap();
    assert_eq!(m.files.len(), 4);
    for (input, f) in files.iter().zip(&m.files) {
        let got = std::fs::read(out.join(&f.path)).unwrap();
        assert_eq!(got, std::fs::read(&input.source).unwrap(), "{}", f.path);
        assert_eq!(f.bytes, got.len() as u64);
        assert_eq!(Some(&f.sha256), input.expected_sha256.as_ref());
    }
    let on_disk: medinfra_package::Manifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, m);
    let notice = std::fs::read_to_string(out.join("NOTICE.txt")).unwrap();
    assert!(notice.starts_with("第三者提供禁止"));
    assert!(notice.contains("No onward provision"));
    // verify gives the same manifest without writing.
    assert_eq!(verify_package(&pkg, &id).unwrap(), m);
    // Never replaced.
    assert!(open_package(&pkg, &id, &out).is_err());
    assert!(write_package_file(&meta(), &files, &id.recipient(), &pkg).is_err());
}

#[test]
fn manifest_names_recipient_provenance_expiry_and_the_notice() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_files(dir.path(), &[(10, 1), (20, 2)]);
    let id = Identity::generate();
    let pkg = package(dir.path(), &files, &id);
    let m = verify_package(&pkg, &id).unwrap();
    assert_eq!(m.format, FORMAT);
    assert_eq!(m.package_id.len(), 32);
    assert_eq!(m.project, "diabetes-2026");
    assert_eq!(m.recipient.organization, "pharma-b");
    assert_eq!(m.recipient.user, "alice");
    assert_eq!(m.recipient.authorization_number, "MHLW-I-0042");
    assert_eq!(m.recipient.authorization_kind, "type_i");
    // The key it is really encrypted to, not what the caller wrote.
    assert_eq!(m.recipient.public_key, id.recipient().as_str());
    assert_eq!(m.expires, "2027-03-31");
    assert!(m.no_onward_provision);
    assert_eq!(m.notice.ja, NOTICE_JA);
    assert_eq!(m.notice.en, NOTICE_EN);
    assert!(NOTICE_JA.starts_with("第三者提供禁止"));
    assert!(NOTICE_EN.starts_with("No onward provision"));
    assert_eq!(m.datasets, meta().datasets);
    assert_eq!(
        m.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        [
            "data/claims-pseudo/v3/t0/part-00000.parquet",
            "data/labs-pseudo/v1/t1/part-00001.parquet"
        ]
    );
    assert_eq!(m.files[1].dataset, "labs-pseudo");
    assert_eq!(m.files[1].version, 1);
    assert_eq!(m.files[1].bytes, 20);
}

#[test]
fn plain_age_and_tar_read_it() {
    // What `age -d -i key | tar t` does, with the libraries rather than this crate's reader.
    let dir = tempfile::tempdir().unwrap();
    let files = make_files(dir.path(), &[(70_000, 9)]);
    let id = Identity::generate();
    let secret_file = dir.path().join("key.txt");
    id.write_file(&secret_file).unwrap();
    let pkg = package(dir.path(), &files, &id);
    let identities = age::IdentityFile::from_file(secret_file.to_string_lossy().into_owned())
        .unwrap()
        .into_identities()
        .unwrap();
    let d = age::Decryptor::new(std::fs::File::open(&pkg).unwrap()).unwrap();
    let r = d
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .unwrap();
    let mut archive = tar::Archive::new(r);
    let mut names = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        if name.starts_with("data/") {
            assert_eq!(body, std::fs::read(&files[0].source).unwrap());
        }
        names.push(name);
    }
    assert_eq!(
        names,
        [
            "manifest.json",
            "NOTICE.txt",
            "data/claims-pseudo/v3/t0/part-00000.parquet"
        ]
    );
}

#[test]
fn the_wrong_key_is_refused_and_nothing_is_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_files(dir.path(), &[(1000, 1)]);
    let pkg = package(dir.path(), &files, &Identity::generate());
    let out = dir.path().join("opened");
    let e = open_package(&pkg, &Identity::generate(), &out).unwrap_err();
    assert!(matches!(e, PackageError::WrongKey { .. }), "{e:?}");
    assert!(e.to_string().contains("extract.age"), "{e}");
    assert!(!out.exists());
    assert!(!dir.path().join(".opened.partial").exists());
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn tampered_payload_is_refused_precisely_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_files(dir.path(), &[(50_000, 1), (150_000, 2)]);
    let id = Identity::generate();
    let pkg = package(dir.path(), &files, &id);
    let len = std::fs::metadata(&pkg).unwrap().len() as usize;
    // One bit in the middle of the payload (inside the second file's data).
    flip(&pkg, len - 60_000);
    let out = dir.path().join("opened");
    let e = open_package(&pkg, &id, &out).unwrap_err();
    match &e {
        PackageError::Tampered { path, what } => {
            assert_eq!(path, &pkg);
            assert!(what.contains("authentication failed"), "{what}");
            assert!(what.contains("data/labs-pseudo/v1/"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!out.exists());
    assert!(!dir.path().join(".opened.partial").exists());
    assert!(matches!(
        verify_package(&pkg, &id),
        Err(PackageError::Tampered { .. })
    ));
}

#[test]
fn tampered_header_and_truncation_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_files(dir.path(), &[(150_000, 1)]);
    let id = Identity::generate();
    let pkg = package(dir.path(), &files, &id);
    let original = std::fs::read(&pkg).unwrap();
    // The header MAC line ("--- " + base64): flip a character of the MAC.
    let mac_at = original.windows(4).position(|w| w == b"\n---").unwrap() + 6;
    flip(&pkg, mac_at);
    let e = verify_package(&pkg, &id).unwrap_err();
    assert!(
        matches!(
            e,
            PackageError::Tampered { .. } | PackageError::NotAPackage { .. }
        ),
        "{e:?}"
    );
    // Cut at a chunk boundary (64 KiB + 16-byte tag) and mid-chunk.
    let header_len = original.windows(4).position(|w| w == b"\n---").unwrap();
    let header_end = header_len
        + original[header_len + 1..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 2;
    for cut in [header_end + 16 + 65_536 + 16, original.len() - 100] {
        std::fs::write(&pkg, &original[..cut]).unwrap();
        let e = verify_package(&pkg, &id).unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::Truncated { .. } | PackageError::Tampered { .. }
            ),
            "cut {cut}: {e:?}"
        );
    }
    // Not an age file at all.
    std::fs::write(&pkg, b"PAR1 not a package").unwrap();
    let e = verify_package(&pkg, &id).unwrap_err();
    assert!(matches!(e, PackageError::NotAPackage { .. }), "{e:?}");
    // Intact again: opens.
    std::fs::write(&pkg, &original).unwrap();
    assert!(verify_package(&pkg, &id).is_ok());
}

#[test]
fn inputs_that_differ_from_their_manifest_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = make_files(dir.path(), &[(100, 1), (100, 2)]);
    let id = Identity::generate();
    files[1].expected_sha256 = Some("00".repeat(32));
    let out = dir.path().join("p.age");
    let e = write_package_file(&meta(), &files, &id.recipient(), &out).unwrap_err();
    assert!(matches!(e, PackageError::Input { .. }), "{e:?}");
    assert!(e.to_string().contains("src-1.parquet"), "{e}");
    assert!(!out.exists());
    assert!(!dir.path().join(".p.age.partial").exists());
    // A file of a dataset version the package does not list, and an escaping path.
    let mut files = make_files(dir.path(), &[(10, 1)]);
    files[0].dataset = "other".into();
    let e = write_package(&meta(), &files, &id.recipient(), Vec::new()).unwrap_err();
    assert!(matches!(e, PackageError::Invalid { .. }), "{e:?}");
    let mut files = make_files(dir.path(), &[(10, 1)]);
    files[0].path = "../../etc/passwd".into();
    let e = write_package(&meta(), &files, &id.recipient(), Vec::new()).unwrap_err();
    assert!(e.to_string().contains("inputs[0].path"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn any_file_set_round_trips(sizes in prop::collection::vec((0usize..140_000, any::<u64>()), 0..6)) {
        let dir = tempfile::tempdir().unwrap();
        let files = make_files(dir.path(), &sizes);
        let id = Identity::generate();
        let (written, sealed) = write_package(&meta(), &files, &id.recipient(), Vec::new()).unwrap();
        let pkg = dir.path().join("p.age");
        std::fs::write(&pkg, &sealed).unwrap();
        let out = dir.path().join("o");
        let opened = open_package(&pkg, &id, &out).unwrap();
        prop_assert_eq!(&opened, &written);
        prop_assert_eq!(opened.files.len(), sizes.len());
        for (input, f) in files.iter().zip(&opened.files) {
            let got = std::fs::read(out.join(&f.path)).unwrap();
            prop_assert_eq!(got, std::fs::read(&input.source).unwrap());
        }
        // Any single flipped payload byte is caught.
        if sealed.len() > 300 {
            let mut bad = sealed.clone();
            let at = sealed.len() - 1 - (sizes.len() * 7919) % 200;
            bad[at] ^= 0x80;
            std::fs::write(&pkg, &bad).unwrap();
            prop_assert!(verify_package(&pkg, &id).is_err());
        }
    }
}
