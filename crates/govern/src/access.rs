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
//! * the audit log is read by auditors (and operators).

use serde::Serialize;

use medinfra_model::Tier;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// Type I users may receive pseudonymized extracts into their own environment; type II users
/// work only inside the remote analysis workspace (`formats/japan.md` §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthorizationKind {
    TypeI,
    TypeII,
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
    pub expires: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actor {
    pub user: String,
    pub role: Role,
    /// The government authorization of the user's organization, if any.
    pub authorization: Option<GovernmentAuthorization>,
    pub memberships: Vec<Membership>,
}

/// What is being accessed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub tier: Tier,
    /// The project the access happens in (None outside any project).
    pub project: Option<String>,
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
        .any(|m| &m.project == project && m.active && today <= m.expires && m.tier == resource.tier)
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
        description: "anyone may read and download statistics and sample data",
        allows: true,
        matches: |_, action, r, _| {
            matches!(action, Action::Read | Action::Download) && r.tier.is_public()
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
                && matches!(action, Action::Read | Action::Write | Action::Submit)
        },
    },
    Rule {
        name: "identified-operators-only",
        description: "nobody else touches the identified zone",
        allows: false,
        matches: |_, _, r, _| r.tier == Tier::Identified,
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
        description: "authorized users read (type I also download) pseudonymized data of an active project they belong to, while their organization's government authorization is valid",
        allows: true,
        matches: |a, action, r, today| {
            r.tier == Tier::Pseudonymized
                && a.role == Role::AuthorizedUser
                && matches!(action, Action::Read | Action::Download)
                && authorized(a, today).is_some()
                && member(a, r, today)
        },
    },
    Rule {
        name: "anonymized-project-member",
        description: "researchers and authorized users read and download anonymized data of an active project they belong to",
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
];

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
                        expires,
                        active,
                    }]
                })
                .unwrap_or_default(),
        }
    }

    fn res(tier: Tier) -> Resource {
        Resource {
            tier,
            project: Some("p".into()),
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
            let d = can(a, *action, &res(*tier), TODAY);
            assert_eq!(
                d.allowed, *expected,
                "case {i}: {:?} {:?} {:?} -> {}",
                a.role, action, tier, d.rule
            );
        }
    }

    #[test]
    fn a_project_of_another_tier_grants_nothing() {
        let a = actor(
            Role::Researcher,
            None,
            Some((Tier::Anonymized, TODAY + 1, true)),
        );
        let r = Resource {
            tier: Tier::Anonymized,
            project: Some("other".into()),
        };
        assert!(!can(&a, Action::Read, &r, TODAY).allowed);
        let inactive = actor(
            Role::Researcher,
            None,
            Some((Tier::Anonymized, TODAY + 1, false)),
        );
        assert!(!can(&inactive, Action::Read, &res(Tier::Anonymized), TODAY).allowed);
    }
}
