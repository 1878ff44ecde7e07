//! The commands. Each turns the parsed flags into a validated `Session` first
//! (config read and checked, template rendered once), so bad input stops
//! before the first AWS call.

pub mod attach;
mod destroy;
pub mod detach;
mod function;
pub mod gate;
pub mod generate;
pub mod grant;
mod init;
mod invalidate;
mod job;
mod many;
mod preview;
mod provision;
mod revoke;
mod set_message;
pub mod status;
pub mod switch;
pub mod verify;

use anyhow::{Result, bail};

use crate::aws::{Clients, Connection};
use crate::cli::{Cli, Command, Global, OutputFormat};
use crate::config::Config;
pub use crate::output::Output;
use crate::output::config_error;
use crate::site::SiteSpec;
use crate::site::page::Template;
use crate::site::plan::{ObservedPage, ObservedSite};
use crate::window::WindowSpec;

pub async fn run(cli: Cli) -> Result<()> {
    let out = Output {
        json: cli.global.output == OutputFormat::Json,
        quiet: cli.global.quiet,
        scope: None,
    };
    if many::wanted(&cli) {
        return many::run(&cli, &out).await;
    }
    match cli.command {
        Command::Init {
            name,
            bucket,
            bucket_region,
        } => init::run(&cli.global, &out, &name, bucket, bucket_region),
        Command::Preview { port, message } => {
            preview::run(&Session::open(&cli.global)?, &out, port, message).await
        }
        Command::Provision { .. }
        | Command::SetMessage { .. }
        | Command::Invalidate { .. }
        | Command::Status { .. }
        | Command::On { .. }
        | Command::Off { .. }
        | Command::Verify { .. } => {
            let session = Session::open(&cli.global)?;
            match job::Job::of(&cli.command, &session)? {
                Some(job) => job.run(&session, &out).await,
                None => bail!("internal: {:?} is not a job", cli.command),
            }
        }
        Command::Attach { dry_run, no_wait } => {
            attach::attach(&Session::open(&cli.global)?, &out, dry_run, no_wait).await
        }
        Command::Detach { dry_run } => {
            detach::detach(&Session::open(&cli.global)?, &out, dry_run).await
        }
        Command::Function => function::function(&Session::open(&cli.global)?, &out),
        Command::Completions { shell } => {
            generate::completions(shell, &mut std::io::stdout().lock())
        }
        Command::Man => generate::man(&mut std::io::stdout().lock()),
        Command::Grant {
            grantee,
            operations,
            force,
            dry_run,
            print,
        } => {
            let request = grant::Request {
                grantee,
                operations,
                force,
                dry_run,
                print,
            };
            grant::grant(&Session::open(&cli.global)?, &out, request).await
        }
        Command::Revoke {
            grantee,
            yes,
            dry_run,
        } => revoke::revoke(&Session::open(&cli.global)?, &out, &grantee, yes, dry_run).await,
        Command::Destroy { yes, dry_run } => {
            destroy::run(&Session::open(&cli.global)?, &out, yes, dry_run).await
        }
    }
}

/// One environment, validated, with how to reach AWS for it.
pub struct Session {
    pub environment: String,
    /// Site mode, when the environment has a `bucket`.
    pub site: Option<Site>,
    /// Window mode, when the environment has a `distribution`.
    pub window: Option<WindowSpec>,
    pub connection: Connection,
    /// The account the environment lives in, when the config says.
    pub account_id: Option<crate::values::AccountId>,
    /// Clients shared with the other environments of a run over several.
    pub pool: Option<std::sync::Arc<crate::aws::ClientPool>>,
}

/// A site-mode environment: its desired state and page template.
pub struct Site {
    pub spec: SiteSpec,
    pub template: Template,
}

impl Site {
    /// The page with `message`: the one place the site's template is
    /// rendered with its key and title.
    pub fn page(&self, message: &str) -> Result<crate::site::page::Page> {
        self.template
            .render(&self.spec.key, &self.spec.title, message)
    }
}

impl Session {
    /// The site-mode half, or a message saying how to get one.
    pub fn site(&self) -> Result<&Site> {
        self.site.as_ref().ok_or_else(|| {
            config_error(anyhow::anyhow!(
                "environment `{}` has no `bucket`: this command manages a separate maintenance \
                 site (site mode). Add `bucket:` to the environment, or use the window-mode \
                 commands (attach, on, off, detach)",
                self.environment
            ))
        })
    }

    /// The window-mode half, or a message saying how to get one.
    pub fn window(&self) -> Result<&WindowSpec> {
        self.window.as_ref().ok_or_else(|| {
            config_error(anyhow::anyhow!(
                "environment `{}` has no `distribution`: window mode puts a maintenance window in \
                 front of an existing CloudFront distribution. Add `distribution: ID` to the environment",
                self.environment
            ))
        })
    }

    /// The session for the global flags; anything wrong with the config is a
    /// configuration error (exit 2).
    fn open(global: &Global) -> Result<Self> {
        Self::open_named(global, global.env.first().map(String::as_str))
    }

    /// The session for environment `name` of the config.
    fn open_named(global: &Global, name: Option<&str>) -> Result<Self> {
        Self::open_config(global, name).map_err(config_error)
    }

    fn open_config(global: &Global, name: Option<&str>) -> Result<Self> {
        let config = Config::load(&global.config)?;
        let (environment, mut env) = config.select(name)?;
        if let Some(region) = &global.region {
            env.region = region.clone();
        }
        let site = match &env.bucket {
            Some(bucket) => {
                let template = Template::for_environment(&env, &config.base_dir())?;
                let spec = SiteSpec::new(&environment, &env, bucket);
                let site = Site { spec, template };
                // Render once now so a broken template stops us before any AWS call.
                site.page(&site.spec.default_message)?;
                Some(site)
            }
            None => None,
        };
        // Rendering the function checks its templates and its size.
        let window = match &env.distribution {
            Some(id) => Some(WindowSpec::new(&env, id, &config.base_dir())?),
            None => None,
        };
        Ok(Self {
            connection: Connection {
                profile: global.profile.clone(),
                region: env.region.to_string(),
                endpoint_url: global.endpoint_url.clone(),
            },
            account_id: env.account_id.clone(),
            environment,
            site,
            window,
            pool: None,
        })
    }

    async fn clients(&self) -> Result<Clients> {
        match &self.pool {
            Some(pool) => pool.clients(&self.connection).await,
            None => self.connection.clients().await,
        }
    }

    /// The clients for a command that changes AWS: first one STS call to
    /// learn the credentials' account, shown to the user, and a refusal
    /// when the environment names another (`account_id`). Never the wrong
    /// account.
    async fn changing_clients(&self, out: &Output) -> Result<Clients> {
        Ok(self.changing_clients_in_account(out).await?.0)
    }

    /// `changing_clients`, and the account they act in.
    async fn changing_clients_in_account(&self, out: &Output) -> Result<(Clients, String)> {
        let clients = self.clients().await?;
        let account = self.account(&clients, out).await?;
        Ok((clients, account))
    }

    /// The account `clients` act in (one STS call, once per run), shown to
    /// the user; an error when the environment names another. A command may
    /// read while this is asked, but must not write before it answered.
    async fn account(&self, clients: &Clients, out: &Output) -> Result<String> {
        let caller = match &self.pool {
            Some(pool) => pool.caller(clients).await?,
            None => crate::aws::sts::caller(&clients.sts).await?,
        };
        if let Some(want) = &self.account_id
            && want.as_str() != caller.account
        {
            bail!(
                "the credentials in use are for AWS account {} ({}), but environment `{}` is in \
                 account {} (account_id in the config): nothing was changed. Use the \
                 environment's credentials, e.g. --profile",
                caller.account,
                caller.arn,
                self.environment,
                want.as_str()
            );
        }
        out.progress(format!(
            "AWS account {} ({}){}",
            caller.account,
            caller.arn,
            if self.account_id.is_some() {
                ", as the config says"
            } else {
                ""
            }
        ));
        Ok(caller.account)
    }
}

impl Site {
    /// Reads everything maint manages for this site, concurrently.
    async fn observe(
        &self,
        clients: &Clients,
    ) -> Result<(
        ObservedSite,
        Option<crate::aws::distribution::FoundDistribution>,
    )> {
        use crate::aws::{bucket, distribution, oac, page};
        let spec = &self.spec;
        // The page is read with the bucket, not after it: a missing bucket
        // answers the HeadObject 404 too.
        let bucket = async {
            let (bucket, document) = tokio::try_join!(
                bucket::observe_bucket(&clients.s3, &spec.bucket, &spec.region),
                page::observe_page(&clients.s3, &spec.bucket, &spec.key)
            )?;
            Ok::<_, anyhow::Error>((bucket.clone(), bucket.and(document)))
        };
        // The page records its distribution's id: one GetDistribution
        // instead of listing the account's distributions.
        let bucket_and_distribution = async {
            let (bucket, document) = bucket.await?;
            let recorded = document.as_ref().and_then(ObservedPage::distribution);
            let dist = distribution::find_site_distribution(
                &clients.cloudfront,
                clients.listings.as_deref(),
                &spec.distribution.comment,
                recorded,
            )
            .await?;
            Ok::<_, anyhow::Error>((bucket, document, dist))
        };
        let (bucket, document, dist) = bucket_and_distribution.await?;
        // The distribution names its OAC: one GetOriginAccessControl instead
        // of listing the account's OACs.
        let used = dist
            .as_ref()
            .and_then(|d| d.observed.shape.origin.oac_id.as_deref());
        let oac = oac::find_site_oac(&clients.cloudfront, &spec.oac_name(), used).await?;
        Ok((
            ObservedSite {
                bucket,
                page: document,
                oac,
                distribution: dist.as_ref().map(|d| d.observed.clone()),
            },
            dist,
        ))
    }
}

/// How long a distribution may take to deploy before maint stops waiting.
pub const DEPLOY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);
pub const INVALIDATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20 * 60);

pub async fn wait_deployed(clients: &Clients, out: &Output, id: &str) -> Result<()> {
    crate::progress::wait_for(
        &format!("distribution {id}"),
        DEPLOY_TIMEOUT,
        out.waits().paced(),
        || async {
            let status =
                crate::aws::distribution::distribution_status(&clients.cloudfront, id).await?;
            let done = status == crate::site::plan::Deployment::Deployed;
            Ok((status.to_string(), done))
        },
    )
    .await
}

pub async fn wait_invalidated(clients: &Clients, out: &Output, id: &str, inv: &str) -> Result<()> {
    crate::progress::wait_for(
        &format!("invalidation {inv}"),
        INVALIDATION_TIMEOUT,
        out.waits().paced(),
        || async {
            crate::aws::invalidation::invalidation_status(&clients.cloudfront, id, inv).await
        },
    )
    .await
}

/// Asks the person to type the environment's name before `command` deletes
/// anything; `--yes` skips it, and without a terminal it refuses.
pub fn confirm(
    environment: &str,
    yes: bool,
    command: &str,
    what: &str,
    nothing: &str,
) -> Result<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to {command} `{environment}` without confirmation, and there is no terminal \
             to ask on: pass --yes to confirm"
        );
    }
    eprint!("{what} `{environment}`. Type the environment name to confirm: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != environment {
        bail!("not confirmed: {nothing}");
    }
    Ok(())
}

/// A missing distribution, said the same way by every command that needs one.
pub fn not_provisioned(environment: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "environment `{environment}` has no maint distribution yet: run `maint provision` first"
    )
}
