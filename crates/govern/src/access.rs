//! `can(actor, action, resource)`: deny by default; the first matching rule of [`RULES`]
//! decides. The same table is printed in ARCHITECTURE.md.
//!
//! The law's promises it enforces (BRIEF "Data tiers", `formats/japan.md` §7.4):
//! * only operators touch the identified zone;
//! * pseudonymized data only for members of an active project at that tier whose organization
//!   holds a valid (not expired, not revoked) government authorization; type II holders work
//!   only inside the workspace and never download row-level pseudonymized data;
//! * anonymized data only for members of an active project;
//! * statistics and sample data are public;
//! * the audit log is read by auditors (and operators);
//! * catalog metadata (names, versions, manifests, lineage; never rows) of the non-identified
//!   tiers is visible to every signed-in role, of the public tiers to anyone;
//! * operators administer the registry, applicants apply, reviewers review.

use serde::{Deserialize, Serialize};

use medinfra_model::Tier;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Public,
    Provider,
    Operator,
    Reviewer,
    AuthorizedUser,
    Researcher,
    Auditor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read rows inside the system (query, inspect, derive).
    Read,
    /// Take rows out of the system (download, extract package).
    Download,
    /// Create a dataset version (ingest, pseudonymize, anonymize, extract, synth).
    Write,
    /// Submit provider files.
    Submit,
    /// Read the audit log.
    ReadAudit,
    /// Read catalog metadata (dataset names, versions, manifests, lineage; never rows).
    ReadCatalog,
    /// Change the registry: organizations, users, government authorizations.
    Administer,
    /// Submit or revise an application for data.
    Apply,
    /// Decide on applications.
    Review,
}

impl Role {
    /// Every role, in the order of the BRIEF's table.
    pub const ALL: [Role; 7] = [
        Role::Public,
        Role::Provider,
        Role::Operator,
        Role::Reviewer,
        Role::AuthorizedUser,
        Role::Researcher,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Provider => "provider",
            Role::Operator => "operator",
            Role::Reviewer => "reviewer",
            Role::AuthorizedUser => "authorized_user",
            Role::Researcher => "researcher",
            Role::Auditor => "auditor",
        }
    }

    /// Parse the snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Read,
        Action::Download,
        Action::Write,
        Action::Submit,
        Action::ReadAudit,
        Action::ReadCatalog,
        Action::Administer,
        Action::Apply,
        Action::Review,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Download => "download",
            Action::Write => "write",
            Action::Submit => "submit",
            Action::ReadAudit => "read_audit",
            Action::ReadCatalog => "read_catalog",
            Action::Administer => "administer",
            Action::Apply => "apply",
            Action::Review => "review",
        }
    }
}

/// Type I users may receive pseudonymized extracts into their own environment; type II users
/// work only inside the remote analysis workspace (`formats/japan.md` §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthorizationKind {
    TypeI,
    TypeII,
}

impl AuthorizationKind {
    /// The catalog's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationKind::TypeI => "type_i",
            AuthorizationKind::TypeII => "type_ii",
        }
    }

    pub fn parse(s: &str) -> Option<AuthorizationKind> {
        match s {
            "type_i" | "TypeI" | "I" => Some(AuthorizationKind::TypeI),
            "type_ii" | "TypeII" | "II" => Some(AuthorizationKind::TypeII),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovernmentAuthorization {
    pub number: String,
    pub kind: AuthorizationKind,
    /// Days since 1970-01-01, inclusive.
    pub valid_from: i32,
    pub valid_to: i32,
    pub revoked: bool,
}

impl GovernmentAuthorization {
    pub fn valid_on(&self, today: i32) -> bool {
        !self.revoked && self.valid_from <= today && today <= self.valid_to
    }
}

/// A user's membership of an approved project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Membership {
    pub project: String,
    pub tier: Tier,
    /// The project's first and last day (days since 1970-01-01, inclusive).
    pub starts: i32,
    pub expires: i32,
    pub active: bool,
}

impl Membership {
    /// Active, and `today` inside the project's period.
    pub fn current(&self, today: i32) -> bool {
        self.active && self.starts <= today && today <= self.expires
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actor {
    pub user: String,
    pub role: Role,
    /// The government authorization of the user's organization, if any.
    pub authorization: Option<GovernmentAuthorization>,
    pub memberships: Vec<Membership>,
}

/// How rows reach the caller (for `Read` and `Download`; ignored by the other actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Through the project's workspace views, inside the system: key columns re-keyed for the
    /// project, dropped columns absent, every query audited.
    #[default]
    Workspace,
    /// Rows of the project's views handed to a client program (the API) instead of shown on
    /// the workspace's pages.
    Api,
    /// The stored files as they are: stored tokens (the same in every project) and every
    /// column. Only the public tiers, and operators inside the system, read them so.
    StoredFiles,
    /// The project's encrypted extract package (the only way rows of a project leave).
    Package,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Workspace => "workspace",
            Via::Api => "api",
            Via::StoredFiles => "stored_files",
            Via::Package => "package",
        }
    }
}

/// Where a dataset version stands for the project reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// Replaced by a later version (e.g. after an opt-out): unreadable for projects.
    pub superseded: bool,
    /// On the project's grant list.
    pub granted: bool,
}

/// What is being accessed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub tier: Tier,
    /// The project the access happens in (None outside any project).
    pub project: Option<String>,
    /// How rows would reach the caller.
    pub via: Via,
    /// For a dataset version read in a project: superseded? granted? (None: not a version.)
    pub standing: Option<Standing>,
}

impl Resource {
    /// Something of `tier`, outside any project (catalog entries, registry, audit).
    pub const fn of(tier: Tier) -> Resource {
        Resource {
            tier,
            project: None,
            via: Via::Workspace,
            standing: None,
        }
    }

    /// Something of `tier` used inside `project`.
    pub fn in_project(tier: Tier, project: impl Into<String>) -> Resource {
        Resource {
            project: Some(project.into()),
            ..Resource::of(tier)
        }
    }

    /// The same resource, reached another way.
    pub fn via(mut self, via: Via) -> Resource {
        self.via = via;
        self
    }

    /// The same resource, as a dataset version with its standing in the project.
    pub fn standing(mut self, superseded: bool, granted: bool) -> Resource {
        self.standing = Some(Standing {
            superseded,
            granted,
        });
        self
    }
}

/// The outcome, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub rule: &'static str,
}

/// One row of the rules table.
pub struct Rule {
    pub name: &'static str,
    pub description: &'static str,
    pub allows: bool,
    matches: fn(&Actor, Action, &Resource, i32) -> bool,
}

fn member(actor: &Actor, resource: &Resource, today: i32) -> bool {
    let Some(project) = &resource.project else {
        return false;
    };
    actor
        .memberships
        .iter()
        .any(|m| &m.project == project && m.current(today) && m.tier == resource.tier)
}

fn rows(action: Action) -> bool {
    matches!(action, Action::Read | Action::Download)
}

fn authorized(actor: &Actor, today: i32) -> Option<AuthorizationKind> {
    actor
        .authorization
        .as_ref()
        .filter(|a| a.valid_on(today))
        .map(|a| a.kind)
}

/// The rules, in order; the first that matches decides; no match denies.
pub const RULES: &[Rule] = &[
    Rule {
        name: "public-tiers",
        description: "anyone may read and download statistics and sample data (and see their catalog entries)",
        allows: true,
        matches: |_, action, r, _| {
            matches!(
                action,
                Action::Read | Action::Download | Action::ReadCatalog
            ) && r.tier.is_public()
        },
    },
    Rule {
        name: "provider-submits",
        description: "providers submit files (into the identified zone, never reading it)",
        allows: true,
        matches: |a, action, r, _| {
            a.role == Role::Provider && action == Action::Submit && r.tier == Tier::Identified
        },
    },
    Rule {
        name: "operator-runs-pipeline",
        description: "operators read and write every tier inside the system",
        allows: true,
        matches: |a, action, _, _| {
            a.role == Role::Operator
                && matches!(
                    action,
                    Action::Read | Action::Write | Action::Submit | Action::ReadCatalog
                )
        },
    },
    Rule {
        name: "identified-operators-only",
        description: "nobody else touches the identified zone",
        allows: false,
        matches: |_, _, r, _| r.tier == Tier::Identified,
    },
    Rule {
        name: "catalog-metadata-signed-in",
        description: "every signed-in role sees catalog metadata (never rows) of the non-identified tiers",
        allows: true,
        matches: |a, action, _, _| action == Action::ReadCatalog && a.role != Role::Public,
    },
    Rule {
        name: "superseded-version-unreadable",
        description: "a superseded version (e.g. replaced after an opt-out) is read by no project",
        allows: false,
        matches: |_, action, r, _| rows(action) && r.standing.is_some_and(|s| s.superseded),
    },
    Rule {
        name: "project-grant-missing",
        description: "a project reads only the dataset versions it was granted",
        allows: false,
        matches: |_, action, r, _| rows(action) && r.standing.is_some_and(|s| !s.granted),
    },
    Rule {
        name: "stored-files-public-only",
        description: "stored files (stored tokens, every column) of a non-public tier reach no one but operators: a project sees its rows through its views",
        allows: false,
        matches: |_, action, r, _| rows(action) && r.via == Via::StoredFiles,
    },
    Rule {
        name: "pseudonymized-rows-stay-in-workspace",
        description: "pseudonymized rows are shown only on the workspace's pages, never handed to a client program; results are saved inside the workspace and leave through output checking",
        allows: false,
        matches: |_, action, r, _| {
            action == Action::Read && r.via == Via::Api && r.tier == Tier::Pseudonymized
        },
    },
    Rule {
        name: "rows-leave-as-package",
        description: "rows of a project leave the system only as its encrypted extract package",
        allows: false,
        matches: |_, action, r, _| action == Action::Download && r.via != Via::Package,
    },
    Rule {
        name: "pseudonymized-type-ii-no-download",
        description: "type II authorized users never take row-level pseudonymized data out",
        allows: false,
        matches: |a, action, r, today| {
            r.tier == Tier::Pseudonymized
                && action == Action::Download
                && authorized(a, today) == Some(AuthorizationKind::TypeII)
        },
    },
    Rule {
        name: "pseudonymized-authorized-member",
        description: "authorized users read (type I also download, as the package) pseudonymized data of a project they belong to while it runs (active, started, not expired) and their organization's government authorization is valid",
        allows: true,
        matches: |a, action, r, today| {
            r.tier == Tier::Pseudonymized
                && a.role == Role::AuthorizedUser
                && match action {
                    Action::Read => authorized(a, today).is_some(),
                    // Taking rows out (an extract package) is what a type I authorization is
                    // for; said here and not only by the type II denial above, so a future
                    // kind of authorization gets no download by default.
                    Action::Download => authorized(a, today) == Some(AuthorizationKind::TypeI),
                    _ => false,
                }
                && member(a, r, today)
        },
    },
    Rule {
        name: "anonymized-project-member",
        description: "researchers and authorized users read (and download, as the package) anonymized data of a project they belong to while it runs",
        allows: true,
        matches: |a, action, r, today| {
            r.tier == Tier::Anonymized
                && matches!(a.role, Role::Researcher | Role::AuthorizedUser)
                && matches!(action, Action::Read | Action::Download)
                && member(a, r, today)
        },
    },
    Rule {
        name: "audit-readers",
        description: "auditors and operators read the audit log",
        allows: true,
        matches: |a, action, _, _| {
            action == Action::ReadAudit && matches!(a.role, Role::Auditor | Role::Operator)
        },
    },
    Rule {
        name: "operator-administers",
        description: "operators manage organizations, users and government authorizations",
        allows: true,
        matches: |a, action, _, _| action == Action::Administer && a.role == Role::Operator,
    },
    Rule {
        name: "applicants-apply",
        description: "authorized users apply for pseudonymized or anonymized data, researchers for anonymized data",
        allows: true,
        matches: |a, action, r, _| {
            action == Action::Apply
                && match a.role {
                    Role::AuthorizedUser => {
                        matches!(r.tier, Tier::Pseudonymized | Tier::Anonymized)
                    }
                    Role::Researcher => r.tier == Tier::Anonymized,
                    _ => false,
                }
        },
    },
    Rule {
        name: "reviewers-review",
        description: "reviewers (the data committee) decide on applications",
        allows: true,
        matches: |a, action, _, _| action == Action::Review && a.role == Role::Reviewer,
    },
];

/// The rules table as Markdown (the table in ARCHITECTURE.md is generated from this).
pub fn rules_markdown() -> String {
    let mut out = String::from("| rule | allows | when |\n|---|---|---|\n");
    for r in RULES {
        let allows = if r.allows { "yes" } else { "**no**" };
        out.push_str(&format!("| {} | {allows} | {} |\n", r.name, r.description));
    }
    out.push_str("| deny-by-default | **no** | everything else |\n");
    out
}

/// The access decision. `today` is days since 1970-01-01.
pub fn can(actor: &Actor, action: Action, resource: &Resource, today: i32) -> Decision {
    for rule in RULES {
        if (rule.matches)(actor, action, resource, today) {
            return Decision {
                allowed: rule.allows,
                rule: rule.name,
            };
        }
    }
    Decision {
        allowed: false,
        rule: "deny-by-default",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i32 = 20_000;

    fn actor(
        role: Role,
        auth: Option<(AuthorizationKind, i32, bool)>,
        member_of: Option<(Tier, i32, bool)>,
    ) -> Actor {
        Actor {
            user: "u".into(),
            role,
            authorization: auth.map(|(kind, valid_to, revoked)| GovernmentAuthorization {
                number: "A-1".into(),
                kind,
                valid_from: TODAY - 100,
                valid_to,
                revoked,
            }),
            memberships: member_of
                .map(|(tier, expires, active)| {
                    vec![Membership {
                        project: "p".into(),
                        tier,
                        starts: TODAY - 100,
                        expires,
                        active,
                    }]
                })
                .unwrap_or_default(),
        }
    }

    fn res(tier: Tier) -> Resource {
        Resource::in_project(tier, "p")
    }

    /// A `Download` asks for the package (the only way rows leave); everything else reads
    /// through the workspace.
    fn res_for(action: Action, tier: Tier) -> Resource {
        match action {
            Action::Download => res(tier).via(Via::Package),
            _ => res(tier),
        }
    }

    #[test]
    fn matrix_of_the_laws_promises() {
        use AuthorizationKind::*;
        use Role::*;
        let valid = Some((TypeI, TODAY + 10, false));
        let valid2 = Some((TypeII, TODAY + 10, false));
        let expired = Some((TypeI, TODAY - 1, false));
        let revoked = Some((TypeI, TODAY + 10, true));
        let pseudo = Some((Tier::Pseudonymized, TODAY + 10, true));
        let pseudo_expired = Some((Tier::Pseudonymized, TODAY - 1, true));
        let anon = Some((Tier::Anonymized, TODAY + 10, true));
        let cases: Vec<(Actor, Action, Tier, bool)> = vec![
            (actor(Public, None, None), Action::Read, Tier::Sample, true),
            (
                actor(Public, None, None),
                Action::Download,
                Tier::Statistics,
                true,
            ),
            (
                actor(Public, None, None),
                Action::Read,
                Tier::Anonymized,
                false,
            ),
            (
                actor(Researcher, None, anon),
                Action::Read,
                Tier::Identified,
                false,
            ),
            (
                actor(Operator, None, None),
                Action::Read,
                Tier::Identified,
                true,
            ),
            (
                actor(Provider, None, None),
                Action::Submit,
                Tier::Identified,
                true,
            ),
            (
                actor(Provider, None, None),
                Action::Read,
                Tier::Identified,
                false,
            ),
            (
                actor(AuthorizedUser, valid, pseudo),
                Action::Read,
                Tier::Pseudonymized,
                true,
            ),
            (
                actor(AuthorizedUser, valid, pseudo),
                Action::Download,
                Tier::Pseudonymized,
                true,
            ),
            (
                actor(AuthorizedUser, valid2, pseudo),
                Action::Read,
                Tier::Pseudonymized,
                true,
            ),
            (
                actor(AuthorizedUser, valid2, pseudo),
                Action::Download,
                Tier::Pseudonymized,
                false,
            ),
            (
                actor(AuthorizedUser, expired, pseudo),
                Action::Read,
                Tier::Pseudonymized,
                false,
            ),
            (
                actor(AuthorizedUser, revoked, pseudo),
                Action::Read,
                Tier::Pseudonymized,
                false,
            ),
            (
                actor(AuthorizedUser, valid, pseudo_expired),
                Action::Read,
                Tier::Pseudonymized,
                false,
            ),
            (
                actor(AuthorizedUser, valid, None),
                Action::Read,
                Tier::Pseudonymized,
                false,
            ),
            (
                actor(Researcher, None, pseudo),
                Action::Read,
                Tier::Pseudonymized,
                false,
            ),
            (
                actor(Researcher, None, anon),
                Action::Read,
                Tier::Anonymized,
                true,
            ),
            (
                actor(Researcher, None, anon),
                Action::Write,
                Tier::Anonymized,
                false,
            ),
            (
                actor(Auditor, None, None),
                Action::ReadAudit,
                Tier::Statistics,
                true,
            ),
            (
                actor(Researcher, None, None),
                Action::ReadAudit,
                Tier::Statistics,
                false,
            ),
            (
                actor(Reviewer, None, None),
                Action::Read,
                Tier::Pseudonymized,
                false,
            ),
        ];
        for (i, (a, action, tier, expected)) in cases.iter().enumerate() {
            let d = can(a, *action, &res_for(*action, *tier), TODAY);
            assert_eq!(
                d.allowed, *expected,
                "case {i}: {:?} {:?} {:?} -> {}",
                a.role, action, tier, d.rule
            );
        }
    }

    #[test]
    fn registry_and_catalog_actions() {
        use Role::*;
        let meta = |role, tier| {
            can(
                &actor(role, None, None),
                Action::ReadCatalog,
                &res(tier),
                TODAY,
            )
        };
        // Catalog metadata: public tiers for anyone, other tiers for signed-in roles, the
        // identified zone for operators only.
        assert!(meta(Public, Tier::Sample).allowed);
        assert!(!meta(Public, Tier::Anonymized).allowed);
        assert!(meta(Researcher, Tier::Pseudonymized).allowed);
        assert!(!meta(Researcher, Tier::Identified).allowed);
        assert!(!meta(Provider, Tier::Identified).allowed);
        assert!(meta(Operator, Tier::Identified).allowed);
        for role in Role::ALL {
            let a = actor(role, None, None);
            let admin = can(&a, Action::Administer, &res(Tier::Statistics), TODAY);
            assert_eq!(admin.allowed, role == Operator, "{role:?}");
            let review = can(&a, Action::Review, &res(Tier::Statistics), TODAY);
            assert_eq!(review.allowed, role == Reviewer, "{role:?}");
            for tier in [
                Tier::Identified,
                Tier::Pseudonymized,
                Tier::Anonymized,
                Tier::Sample,
            ] {
                let apply = can(&a, Action::Apply, &res(tier), TODAY).allowed;
                let expected = match role {
                    AuthorizedUser => matches!(tier, Tier::Pseudonymized | Tier::Anonymized),
                    Researcher => tier == Tier::Anonymized,
                    _ => false,
                };
                assert_eq!(apply, expected, "{role:?} apply {tier:?}");
            }
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn only_type_i_downloads_pseudonymized_extracts() {
        use AuthorizationKind::*;
        let pseudo = Some((Tier::Pseudonymized, TODAY + 10, true));
        let download = |auth, member_of| {
            can(
                &actor(Role::AuthorizedUser, auth, member_of),
                Action::Download,
                &res(Tier::Pseudonymized).via(Via::Package),
                TODAY,
            )
        };
        let d = download(Some((TypeI, TODAY + 10, false)), pseudo);
        assert!(d.allowed);
        assert_eq!(d.rule, "pseudonymized-authorized-member");
        let d = download(Some((TypeII, TODAY + 10, false)), pseudo);
        assert!(!d.allowed);
        assert_eq!(d.rule, "pseudonymized-type-ii-no-download");
        // Type I, but not a member, expired, revoked or without authorization: no package.
        for (auth, member_of) in [
            (Some((TypeI, TODAY + 10, false)), None),
            (Some((TypeI, TODAY - 1, false)), pseudo),
            (Some((TypeI, TODAY + 10, true)), pseudo),
            (None, pseudo),
        ] {
            let d = download(auth, member_of);
            assert!(!d.allowed, "{auth:?} {member_of:?}: {}", d.rule);
            assert_eq!(d.rule, "deny-by-default");
        }
        // Operators run the pipeline but do not take pseudonymized rows out either.
        let op = can(
            &actor(Role::Operator, None, None),
            Action::Download,
            &res(Tier::Pseudonymized),
            TODAY,
        );
        assert!(!op.allowed);
    }

    /// Finding 5 of the attack on the served demo: a project starting in 2030 was queryable
    /// the day it was approved.
    #[test]
    fn a_project_that_has_not_started_grants_nothing() {
        let mut a = actor(
            Role::Researcher,
            None,
            Some((Tier::Anonymized, TODAY + 400, true)),
        );
        a.memberships[0].starts = TODAY + 1;
        let d = can(&a, Action::Read, &res(Tier::Anonymized), TODAY);
        assert!(!d.allowed, "{}", d.rule);
        a.memberships[0].starts = TODAY;
        assert!(can(&a, Action::Read, &res(Tier::Anonymized), TODAY).allowed);
    }

    /// Finding 1: stored files reached type II members through the API's rows and download
    /// endpoints. Stored files of a non-public tier reach nobody but operators inside the
    /// system; rows leave only as the package; superseded or ungranted versions are read by
    /// no project — whoever asks.
    #[test]
    fn stored_files_ungranted_and_superseded_versions_reach_no_member() {
        use AuthorizationKind::*;
        let member = actor(
            Role::AuthorizedUser,
            Some((TypeI, TODAY + 10, false)),
            Some((Tier::Pseudonymized, TODAY + 10, true)),
        );
        let pseudo = res(Tier::Pseudonymized);
        let refused = |action, r: &Resource, rule: &str| {
            let d = can(&member, action, r, TODAY);
            assert!(!d.allowed, "{action:?} {r:?}");
            assert_eq!(d.rule, rule);
        };
        refused(
            Action::Read,
            &pseudo.clone().via(Via::StoredFiles),
            "stored-files-public-only",
        );
        refused(
            Action::Download,
            &pseudo.clone().via(Via::StoredFiles),
            "stored-files-public-only",
        );
        refused(Action::Download, &pseudo, "rows-leave-as-package");
        refused(
            Action::Read,
            &pseudo.clone().standing(true, true),
            "superseded-version-unreadable",
        );
        refused(
            Action::Read,
            &pseudo.clone().standing(false, false),
            "project-grant-missing",
        );
        assert!(
            can(
                &member,
                Action::Read,
                &pseudo.clone().standing(false, true),
                TODAY
            )
            .allowed
        );
        assert!(can(&member, Action::Download, &pseudo.via(Via::Package), TODAY).allowed);
        // The public tiers are files anyone may have, and operators read stored files inside.
        let public = actor(Role::Public, None, None);
        let sample = Resource::of(Tier::Sample).via(Via::StoredFiles);
        assert!(can(&public, Action::Download, &sample, TODAY).allowed);
        let op = actor(Role::Operator, None, None);
        let stored = Resource::of(Tier::Pseudonymized).via(Via::StoredFiles);
        assert!(can(&op, Action::Read, &stored, TODAY).allowed);
        assert!(!can(&op, Action::Download, &stored, TODAY).allowed);
    }

    #[test]
    fn a_project_of_another_tier_grants_nothing() {
        let a = actor(
            Role::Researcher,
            None,
            Some((Tier::Anonymized, TODAY + 1, true)),
        );
        let r = Resource::in_project(Tier::Anonymized, "other");
        assert!(!can(&a, Action::Read, &r, TODAY).allowed);
        let inactive = actor(
            Role::Researcher,
            None,
            Some((Tier::Anonymized, TODAY + 1, false)),
        );
        assert!(!can(&inactive, Action::Read, &res(Tier::Anonymized), TODAY).allowed);
    }
}
