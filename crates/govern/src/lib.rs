//! Governance: the one access decision function ([`can`]), the registry of organizations,
//! users, government authorizations, applications and projects ([`Registry`]), and the
//! tamper-evident audit log ([`AuditLog`], with signed checkpoints and a group-commit
//! [`AuditWriter`]), patients' opt-outs ([`Registry::apply_optout`]), and the providers whose files may be read
//! ([`Registry::register_provider`]).
//!
//! Every read and write in every interface asks [`can`] first and records the decision in the
//! audit log; an action whose audit record cannot be written does not happen. This crate must
//! never grant by default (anything not matched by a rule is denied), never log data values,
//! keys, passwords or credential secrets (audit details name datasets, versions and rules
//! only; credentials are stored as hashes), and never rewrite or delete audit entries.

mod access;
mod admin;
mod applications;
mod audit;
mod checkpoint;
mod dp_budget;
mod optout;
mod providers;
mod registry;
mod row_views;
mod secret;
mod writer;

pub use access::{
    Action, Actor, AuthorizationKind, Decision, GovernmentAuthorization, Membership, RULES,
    Resource, Role, Rule, Standing, Via, can, rules_markdown,
};
pub use admin::{
    AdminError, DemoAccount, Revocation, audited, cli_admin, create_demo_accounts, create_org,
    create_user, grant_authorization, revoke_authorization, set_recipient_key, take_back,
};
pub use applications::{
    Application, ApplicationStatus, Grant, NewApplication, Project, ReviewDecision, ReviewEvent,
};
pub use audit::{
    Anchor, AuditEntry, AuditError, AuditLog, AuditProblem, AuditRecord, CHECKPOINT_EVERY,
    Checkpoint,
};
pub use checkpoint::KeyError;
pub use dp_budget::DpBudget;
pub use optout::{OptOut, OptOutError, OptOutReport};
pub use providers::{Provider, refusal as provider_refusal, validate as validate_provider};
pub use registry::{
    Authorization, LOCK_SECONDS, MAX_FAILED_LOGINS, MAX_TOKEN_DAYS, NewSession, NewUser,
    Organization, Registry, RegistryError, Session, TOKEN_DAYS, TokenInfo, User, now_unix, today,
};
pub use row_views::RowViews;
pub use secret::{PasswordCost, SecretError, random_secret};
pub use writer::AuditWriter;
