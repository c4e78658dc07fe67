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

    /// Supervised training from scratch, the ST-GCN recipe (yysijie/st-gcn
    /// `config/st_gcn/ntu-xsub/train.yaml` and its recognition processor): SGD lr 0.1, momentum 0.9,
    /// Nesterov, weight decay 1e-4, lr ×0.1 after epochs 10 and 50, 80 epochs, batch 64, the model
    /// in train mode (dropout 0.5 is the encoder's), the test set every 5 epochs (its `eval_interval`).
    /// Augmentation: crop + shear, AimCLR's `Feeder_single` (the pre-training query view); ST-GCN's
    /// NTU feeder has none (`augment = false`).
    public static var supervised: ClassifierTrainingConfig {
        var c = ClassifierTrainingConfig(epochs: 80, baseLR: 0.1, steps: [10, 50], weightDecay: 1e-4, gradientClip: nil, augment: true)
        c.batchSize = 64
        c.evalInterval = 5
        c.modelMode = .train
        c.nesterov = true
        return c
    }
}
