//! `loadout simulate`: a candidate policy set over the whole population beside the baseline.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use loadout::domain::Population;
use loadout::governance::Governance;
use loadout::whatif::{WhatIfError, WhatIfOptions, WhatIfReport, what_if};

use crate::progress::Progress;
use crate::tenant_files::{self, FileError};

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    WhatIf(#[from] WhatIfError),
}

pub struct SimulateOptions {
    pub policies: PathBuf,
    pub baseline: PathBuf,
    pub org: PathBuf,
    pub devices: PathBuf,
    pub usage: PathBuf,
    pub catalog: PathBuf,
    pub governance: Governance,
    pub breaker_share: f64,
    pub at: DateTime<Utc>,
}

pub fn simulate(options: &SimulateOptions) -> Result<WhatIfReport, SimulateError> {
    let candidate = tenant_files::policies(&options.policies)?;
    let baseline = tenant_files::policies(&options.baseline)?;
    let population = Population::new(
        tenant_files::org(&options.org)?,
        tenant_files::devices(&options.devices)?,
    );
    let usage = tenant_files::usage(&options.usage)?;
    let catalog = tenant_files::catalog(&options.catalog)?;
    let progress = Progress::on_terminal();
    let report = what_if(
        &baseline,
        &candidate,
        &population,
        &usage,
        &catalog,
        &WhatIfOptions {
            governance: options.governance.clone(),
            breaker_share: options.breaker_share,
            at: options.at,
        },
        &|p| progress.update(p.set, p.done, p.total),
    );
    progress.finish();
    Ok(report?)
}
