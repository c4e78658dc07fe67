/// The hyper-parameters of each protocol.
extension ClassifierTrainingConfig {
    /// Linear evaluation, spec §5.2 (released configs): SGD lr 3.0, momentum 0.9, no weight
    /// decay, 100 epochs, lr ×0.1 after epoch 80, batch 128, no augmentation, no clipping.
    public static var linearEvaluation: ClassifierTrainingConfig {
        ClassifierTrainingConfig(epochs: 100, baseLR: 3.0, steps: [80], weightDecay: 0, gradientClip: nil, augment: false)
    }

    /// Semi-supervised evaluation (label fraction < 1) and fine-tuning (fraction 1), spec §5.5-5.6.
    ///
    /// The reference releases neither config. Known: the whole network trains in eval mode, SGD
    /// with momentum 0.9, crop + shear augmentation, gradient-norm clipping to 2.0 for the
    /// semi-supervised processor and none for fine-tuning. Chosen here (the author's reply in
    /// issue #7 and the pre-training values): lr 0.1, weight decay 1e-4, 100 epochs, lr ×0.1
    /// after epoch 80, batch 128.
    public static func fineTuning(labelFraction: Double) -> ClassifierTrainingConfig {
        ClassifierTrainingConfig(epochs: 100, baseLR: 0.1, steps: [80], weightDecay: 1e-4,
                                 gradientClip: labelFraction < 1 ? 2.0 : nil, augment: true)
    }
}
