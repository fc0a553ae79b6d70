/*
 * Header-only C++11 RAII wrappers over the libresnet C API.
 *
 * Every handle is a std::unique_ptr with a deleter that calls the matching
 * rn_*_destroy, so objects are released in reverse order of declaration --
 * which is exactly the order the C API requires (plan before model, model
 * before context). Failed calls throw rn::error carrying the status and the
 * context's sentence from rn_last_error.
 *
 * Copying a wrapper is disabled (handles have one owner); moving is allowed.
 * The wrappers keep a non-owning pointer to their context: the Context must
 * outlive every Model and Plan made from it.
 */
#ifndef RESNET_EXAMPLES_RESNET_HPP
#define RESNET_EXAMPLES_RESNET_HPP

#include <resnet.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rn {

class error : public std::runtime_error {
public:
    error(rn_status status, const std::string &what)
        : std::runtime_error(what), status_(status) {}
    rn_status status() const noexcept { return status_; }

private:
    rn_status status_;
};

inline void check(rn_status status, const rn_ctx *ctx, const char *call) {
    if (status != RN_OK) {
        /* The library's sentence already names the function that failed. */
        const char *detail = rn_last_error(ctx);
        std::string msg = (detail && *detail) ? std::string(detail) : std::string(call);
        throw error(status, msg + " (" + rn_status_string(status) + ")");
    }
}

struct ctx_deleter {
    void operator()(rn_ctx *p) const noexcept { rn_ctx_destroy(p); }
};
struct model_deleter {
    void operator()(rn_model *p) const noexcept { rn_model_destroy(p); }
};
struct plan_deleter {
    void operator()(rn_plan *p) const noexcept { rn_plan_destroy(p); }
};
struct tensor_deleter {
    void operator()(rn_tensor *p) const noexcept { rn_tensor_destroy(p); }
};
struct optimizer_deleter {
    void operator()(rn_optimizer *p) const noexcept { rn_optimizer_destroy(p); }
};
typedef std::unique_ptr<rn_ctx, ctx_deleter> ctx_ptr;
typedef std::unique_ptr<rn_model, model_deleter> model_ptr;
typedef std::unique_ptr<rn_plan, plan_deleter> plan_ptr;
typedef std::unique_ptr<rn_tensor, tensor_deleter> tensor_ptr;
typedef std::unique_ptr<rn_optimizer, optimizer_deleter> optimizer_ptr;

class Context {
public:
    Context() {
        rn_ctx *p = nullptr;
        check(rn_ctx_create(&p), nullptr, "rn_ctx_create");
        ctx_.reset(p);
    }
    /* A context that lives in, and allocates only from, the caller's buffer. */
    Context(void *buffer, std::size_t size) {
        rn_ctx *p = nullptr;
        check(rn_ctx_create_in_buffer(buffer, size, &p), nullptr, "rn_ctx_create_in_buffer");
        ctx_.reset(p);
    }
    void set(std::int32_t key, std::int64_t value) {
        check(rn_ctx_set_int(get(), key, value), get(), "rn_ctx_set_int");
    }
    std::int64_t get_int(std::int32_t key) const {
        std::int64_t v = 0;
        check(rn_ctx_get_int(get(), key, &v), get(), "rn_ctx_get_int");
        return v;
    }
    rn_ctx *get() const noexcept { return ctx_.get(); }

private:
    ctx_ptr ctx_;
};

class Model {
public:
    /* A preset ("resnet18", "resnet20", ...) with the paper's shortcut. */
    Model(Context &ctx, const std::string &preset, std::int32_t classes,
          std::int32_t in_channels = 3, std::uint32_t flags = 0)
        : ctx_(ctx.get()) {
        rn_model *p = nullptr;
        check(rn_model_create_preset(ctx_, preset.c_str(), classes, in_channels,
                                     RN_SHORTCUT_DEFAULT, 0, flags, &p),
              ctx_, "rn_model_create_preset");
        model_.reset(p);
    }
    void init(std::uint64_t seed) { check(rn_model_init(get(), seed), ctx_, "rn_model_init"); }
    std::int64_t num_parameters() const {
        std::int64_t n = 0;
        check(rn_model_num_parameters(get(), &n), ctx_, "rn_model_num_parameters");
        return n;
    }
    std::int32_t classes() const {
        std::int32_t k = 0;
        check(rn_model_classes(get(), &k), ctx_, "rn_model_classes");
        return k;
    }
    /* Number of floats of a named tensor (PyTorch dims). */
    std::size_t tensor_size(const std::string &name) const {
        std::int32_t index = 0, ndim = 0, kind = 0;
        std::int64_t dims[4] = {0, 0, 0, 0};
        const char *stored = nullptr;
        check(rn_model_tensor_find(get(), name.c_str(), &index), ctx_, "rn_model_tensor_find");
        check(rn_model_tensor_info(get(), index, &stored, &ndim, dims, &kind), ctx_,
              "rn_model_tensor_info");
        std::size_t n = 1;
        for (std::int32_t i = 0; i < ndim; i++) n *= static_cast<std::size_t>(dims[i]);
        return n;
    }
    /* A tensor by torchvision name, in PyTorch layout. */
    std::vector<float> tensor(const std::string &name) const {
        std::vector<float> v(tensor_size(name));
        check(rn_model_get_tensor(get(), name.c_str(), v.data(), v.size()), ctx_,
              "rn_model_get_tensor");
        return v;
    }
    void set_tensor(const std::string &name, const std::vector<float> &v) {
        check(rn_model_set_tensor(get(), name.c_str(), v.data(), v.size()), ctx_,
              "rn_model_set_tensor");
    }
    std::vector<float> grad(const std::string &name) const {
        std::vector<float> v(tensor_size(name));
        check(rn_model_get_grad(get(), name.c_str(), v.data(), v.size()), ctx_,
              "rn_model_get_grad");
        return v;
    }
    rn_model *get() const noexcept { return model_.get(); }
    rn_ctx *ctx() const noexcept { return ctx_; }

private:
    rn_ctx *ctx_;
    model_ptr model_;
};

class Plan {
public:
    Plan(Model &model, std::int64_t batch, std::int64_t h, std::int64_t w,
         std::int32_t mode = RN_MODE_INFER)
        : ctx_(model.ctx()), batch_(batch), classes_(model.classes()) {
        rn_plan *p = nullptr;
        check(rn_plan_create(model.get(), batch, h, w, mode, &p), ctx_, "rn_plan_create");
        plan_.reset(p);
    }
    std::size_t memory_size() const {
        std::size_t n = 0;
        check(rn_plan_memory_size(get(), &n), ctx_, "rn_plan_memory_size");
        return n;
    }
    /* Run in the caller's buffer; it must outlive the plan. */
    void bind(void *buffer, std::size_t size) {
        check(rn_plan_bind_memory(get(), buffer, size), ctx_, "rn_plan_bind_memory");
    }
    /* Logits (batch x classes) for a batch in NCHW (PyTorch) or NHWC order. */
    std::vector<float> forward(const std::vector<float> &input,
                               std::int32_t layout = RN_LAYOUT_NCHW) {
        std::vector<float> logits(static_cast<std::size_t>(batch_ * classes_));
        check(rn_plan_forward(get(), input.data(), input.size(), layout, logits.data(),
                              logits.size()),
              ctx_, "rn_plan_forward");
        return logits;
    }
    /* Mean cross-entropy of the last forward; gradients land in the model. */
    float backward(const std::vector<std::int32_t> &labels) {
        float loss = 0.0f;
        check(rn_plan_backward(get(), labels.data(), labels.size(), &loss), ctx_,
              "rn_plan_backward");
        return loss;
    }
    rn_plan *get() const noexcept { return plan_.get(); }

private:
    rn_ctx *ctx_;
    std::int64_t batch_;
    std::int32_t classes_;
    plan_ptr plan_;
};

/* torch.optim.SGD over every trainable tensor of a model (declare it after
 * the model, so it is destroyed first). */
class SGD {
public:
    SGD(Model &model, double lr, double momentum = 0.9, double weight_decay = 1e-4,
        bool nesterov = false)
        : ctx_(model.ctx()) {
        rn_optimizer *p = nullptr;
        check(rn_sgd_create(model.get(), &p), ctx_, "rn_sgd_create");
        opt_.reset(p);
        set(RN_SGD_LR, lr);
        set(RN_SGD_MOMENTUM, momentum);
        set(RN_SGD_WEIGHT_DECAY, weight_decay);
        check(rn_optimizer_set_int(get(), RN_SGD_NESTEROV, nesterov ? 1 : 0), ctx_,
              "rn_optimizer_set_int");
    }
    void set(std::int32_t key, double value) {
        check(rn_optimizer_set_float(get(), key, value), ctx_, "rn_optimizer_set_float");
    }
    /* One update from the gradients of the last Plan::backward. */
    void step() { check(rn_optimizer_step(get()), ctx_, "rn_optimizer_step"); }
    rn_optimizer *get() const noexcept { return opt_.get(); }

private:
    rn_ctx *ctx_;
    optimizer_ptr opt_;
};

} // namespace rn

#endif /* RESNET_EXAMPLES_RESNET_HPP */
