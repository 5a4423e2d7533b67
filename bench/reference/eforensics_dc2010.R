#!/usr/bin/env Rscript
# Reference run of the eforensics package's `qbl` model on Washington DC 2010 (the package's vignette
# settings), used to hold pollwatch's maximum-likelihood `qbl` fit to the package's posterior.
#
# This script only loads the package and calls it: it contains none of the package's code.
# Setup and provenance: bench/reference/README.md.
#
# Usage:
#   Rscript bench/reference/eforensics_dc2010.R DATA.csv OUT.tsv [SEED] [CHAINS] [BURNIN] [ITER]
# Defaults are the vignette's: seed 48109, 1 chain, burn-in 5000 (n.adapt 1000), 1000 samples,
# max.auto 10. OUT.tsv gets the posterior summary (mean, sd, 95 % HPD interval per parameter and
# chain); OUT.tsv with ".units.tsv" gets each precinct's posterior class probabilities and fraud
# proportions.

suppressPackageStartupMessages({
  library(eforensics)
  library(runjags)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: eforensics_dc2010.R DATA.csv OUT.tsv [SEED] [CHAINS] [BURNIN] [ITER]")
data_path <- args[[1]]
out_path <- args[[2]]
seed <- if (length(args) >= 3) as.integer(args[[3]]) else 48109L
chains <- if (length(args) >= 4) as.integer(args[[4]]) else 1L
burnin <- if (length(args) >= 5) as.integer(args[[5]]) else 5000L
iter <- if (length(args) >= 6) as.integer(args[[6]]) else 1000L

dc <- utils::read.csv(data_path, stringsAsFactors = FALSE)
stopifnot(identical(names(dc), c("precinct", "NVoters", "NValid", "Votes", "a")))
stopifnot(all(dc$a == dc$NVoters - dc$NValid))

# The package's own copy of the data must be the same table.
pkg_env <- new.env()
utils::data("dc2010", package = "eforensics", envir = pkg_env)
stopifnot(all(as.integer(pkg_env$dc2010$Votes) == dc$Votes), all(as.integer(pkg_env$dc2010$a) == dc$a),
          all(as.integer(pkg_env$dc2010$NVoters) == dc$NVoters))

# eforensics() gives runjags no initial values, so runjags names a JAGS generator per chain but
# leaves JAGS to seed it from the clock. Fixing the seeds is the only change: every run.jags call
# without `inits` gets, per chain i, Mersenne-Twister seeded with SEED + i. All other values are
# taken by JAGS from the priors, as in an unseeded run. extend.jags continues from the saved state.
rng_inits <- lapply(seq_len(chains), function(i) {
  list(.RNG.name = "base::Mersenne-Twister", .RNG.seed = seed + i)
})
assign(".pollwatch_rng_inits", rng_inits, envir = globalenv())
trace("run.jags", where = asNamespace("runjags"), print = FALSE,
      tracer = quote(if (identical(inits, NA)) inits <- get(".pollwatch_rng_inits", envir = globalenv())))

set.seed(seed)
mcmc <- list(burn.in = burnin, n.adapt = 1000, n.iter = iter, n.chains = chains)
started <- Sys.time()
samples_dc <- eforensics(Votes ~ 1,
                         a ~ 1,
                         data = dc,
                         model = "qbl",
                         mcmc = mcmc,
                         max.auto = 10,
                         eligible.voters = "NVoters")
elapsed <- as.numeric(difftime(Sys.time(), started, units = "secs"))
results_dc <- summary(samples_dc)
print(results_dc)

rows <- list()
for (chain in names(results_dc)) {
  tab <- results_dc[[chain]]
  tab$chain <- chain
  rows[[chain]] <- tab
}
table <- do.call(rbind, rows)
utils::write.table(table, out_path, sep = "\t", quote = FALSE, row.names = FALSE)

# Per precinct: posterior class probabilities (chains pooled) and fraud proportions.
piz <- Reduce(`+`, lapply(samples_dc, function(x) x$piZi)) / length(samples_dc)
frauds <- attr(samples_dc, "frauds")
units <- data.frame(precinct = dc$precinct,
                    p_no_fraud = piz[, 1], p_incremental = piz[, 2], p_extreme = piz[, 3],
                    manufactured_mean = frauds$Manufactured[, "Mean"],
                    stolen_mean = frauds$Stolen[, "Mean"])
utils::write.table(units, sub("\\.tsv$", ".units.tsv", out_path), sep = "\t", quote = FALSE,
                   row.names = FALSE)

jags <- runjags::testjags(silent = TRUE)
cat("\n# provenance\n")
cat("eforensics", as.character(utils::packageVersion("eforensics")), "\n")
cat("runjags", as.character(utils::packageVersion("runjags")),
    "mcmcse", as.character(utils::packageVersion("mcmcse")), "\n")
cat("JAGS", jags$JAGS.version, "\n")
cat(R.version.string, "\n")
cat("seed", seed, "chains", chains, "burn-in", burnin, "adapt 1000 iter", iter, "max.auto 10\n")
cat("elapsed_s", round(elapsed, 1), "\n")
