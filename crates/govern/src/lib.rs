//! Governance: the one access decision function ([`can`]) and the tamper-evident audit log
//! ([`AuditLog`]).
//!
//! Every read and write in every interface asks [`can`] first and records the decision in the
//! audit log; an action whose audit record cannot be written does not happen. This crate must
//! never grant by default (anything not matched by a rule is denied), never log data values,
//! keys or identifiers (audit details name datasets, versions and rules only), and never
//! rewrite or delete audit entries.

mod access;
mod audit;

pub use access::{
    Action, Actor, AuthorizationKind, Decision, GovernmentAuthorization, Membership, RULES,
    Resource, Role, Rule, can,
};
pub use audit::{AuditEntry, AuditError, AuditLog, AuditProblem};
