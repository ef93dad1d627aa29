package io.sharena.bench.harness;

/** A line of the results table: one sharena figure, its baseline, the ratio the target speaks of. */
public record Row(String suite, String label, Figure sharena, Figure baseline, Target target) {
    public double ratio() {
        return target.ratio(sharena.median(), baseline.median());
    }

    /** @return whether the target is met, null when there is none */
    public Boolean met() {
        return target.met(sharena.median(), baseline.median());
    }
}
