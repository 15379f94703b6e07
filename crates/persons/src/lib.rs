//! `medinfra-persons`: the person registry (名寄せ) of the identified zone.
//!
//! Every identity record of every provider — a patient registration at a provider (provider
//! id + chart number: UKE RE/HO, pharmacy, DPC, SS-MIX2, FHIR, mapped CSV, all as the canonical
//! `persons`/`claims` rows ingest wrote) and every specific health checkup (facility + checkup
//! id, which carries no chart number) — gets a `person_id` that stays put across runs:
//!
//! 1. a record already in the registry keeps its person; a new identity *variant* of it (new
//!    card, new surname) is added to the record;
//! 2. keyed NDB ID1 (insurer + card + birth date + sex) and ID2 (name + birth date + sex) chain
//!    records over time, ID0-style (`formats/japan.md` §1.2), with the ID2 collision rule of
//!    [`medinfra_link::deterministic`];
//! 3. what the chains leave alone is compared by the Fellegi–Sunter `japan-person` model of
//!    [`medinfra_link`] against the whole registry, with its blocking rules;
//! 4. a record joining a cluster takes its ID; clusters that merge keep the oldest (smallest)
//!    ID and the others become aliases; a new cluster mints a new ID; an ID is never reused;
//! 5. operator overrides (must-link, split with cannot-link) win over the model and hold in every
//!    later run; every change is an event with its evidence (which key, which weight).
//!
//! A run only reads the provider parts the registry has not consumed yet ([`Registry::sources`])
//! and compares only new records and variants: it never re-links history from scratch.
//! The registry is persisted as dataset [`REGISTRY_DATASET`] (identified tier) by [`stored`].
//!
//! What it must never do:
//! - put a name, birth date, card number, chart number, linkage ID or key into an error message
//!   or log (record keys are shown only by the operator's own `persons explain/export`);
//! - reuse a person ID, or change a record's ID other than by a merge (alias) or a split, both
//!   recorded as events;
//! - decide access (callers ask `govern` first; the registry is identified-tier data).

pub mod contradict;
pub mod error;
pub mod eval;
pub mod extract;
pub mod record;
pub mod registry;
pub mod resolve;
pub mod stored;

pub use error::{PersonsError, Result};
pub use eval::{Evaluation, evaluate};
pub use extract::{Observations, observations_from_batch};
pub use record::{Identity, Observation, RecordKey, RecordKind};
pub use registry::{
    Alias, Event, EventKind, Override, OverrideKind, Record, Registry, RunSummary, SavedModel,
    Variant,
};
pub use resolve::Linker;
pub use stored::REGISTRY_DATASET;
