/*
 * A small C++ program over the RAII wrappers in resnet.hpp: build a CIFAR
 * ResNet-20, classify a batch, then train it on that batch for a few SGD steps.
 *
 *   resnet_cpp_example [threads]
 *
 * Objects are declared context first, so they are destroyed in the order the
 * C API requires without a single explicit destroy call.
 */
#include "resnet.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

int main(int argc, char **argv) {
    try {
        rn::Context ctx;
        if (argc > 1) ctx.set(RN_OPT_NUM_THREADS, std::atoi(argv[1]));

        rn::Model model(ctx, "resnet20", 10);
        model.init(1);
        std::printf("resnet20: %lld parameters, threads %lld, isa %s\n",
                    static_cast<long long>(model.num_parameters()),
                    static_cast<long long>(ctx.get_int(RN_OPT_NUM_THREADS)),
                    rn_isa_name(static_cast<std::int32_t>(ctx.get_int(RN_OPT_ACTIVE_ISA))));

        const int batch = 4, size = 32;
        std::vector<float> images(static_cast<std::size_t>(batch) * 3 * size * size);
        for (std::size_t i = 0; i < images.size(); i++)
            images[i] = static_cast<float>((i * 7919u) % 255u) / 255.0f - 0.5f;

        {
            rn::Plan infer(model, batch, size, size, RN_MODE_INFER);
            std::vector<float> logits = infer.forward(images, RN_LAYOUT_NCHW);
            for (int b = 0; b < batch; b++) {
                int best = 0;
                for (int k = 1; k < 10; k++)
                    if (logits[b * 10 + k] > logits[b * 10 + best]) best = k;
                std::printf("image %d: class %d\n", b, best);
            }
            std::printf("inference plan memory: %zu bytes\n", infer.memory_size());
        }

        /* A few SGD steps on one batch: the loss must fall. */
        rn::Plan train(model, batch, size, size, RN_MODE_TRAIN);
        rn::SGD sgd(model, 0.05);
        std::vector<std::int32_t> labels = {0, 1, 2, 3};
        float first = 0.0f, last = 0.0f;
        for (int step = 0; step < 5; step++) {
            train.forward(images);
            last = train.backward(labels);
            if (step == 0) first = last;
            sgd.step();
        }
        std::printf("train: loss %.4f -> %.4f after 5 SGD steps\n", static_cast<double>(first),
                    static_cast<double>(last));
        if (!(last < first)) {
            std::fprintf(stderr, "resnet_cpp_example: the loss did not fall\n");
            return 1;
        }

        /* Errors surface as exceptions with the library's sentence. */
        try {
            rn::Model bad(ctx, "resnet21", 10);
        } catch (const rn::error &e) {
            std::printf("expected error: %s\n", e.what());
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "resnet_cpp_example: %s\n", e.what());
        return 1;
    }
}
